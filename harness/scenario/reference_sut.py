"""Public path of the reference-service adapter: ``--sut harness.scenario.reference_sut:make``."""

from harness.scenario._reference_sut import ReferenceSut, make_reference_sut

make = make_reference_sut

__all__ = ["ReferenceSut", "make", "make_reference_sut"]
