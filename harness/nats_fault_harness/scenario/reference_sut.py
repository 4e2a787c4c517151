"""Public path of the reference-service adapter: ``--sut
nats_fault_harness.scenario.reference_sut:make``."""

from nats_fault_harness.scenario._reference_sut import ReferenceSut, make_reference_sut

make = make_reference_sut

__all__ = ["ReferenceSut", "make", "make_reference_sut"]
