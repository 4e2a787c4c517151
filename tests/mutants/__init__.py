"""Mutants of the reference service: each re-introduces one anti-pattern the remediation
document says was fixed, behind the ``ServiceUnderTest`` adapter.

``catalog.MUTANTS`` lists them with the claims they break; ``test_mutants.py`` runs the
scenarios that verify those claims against each mutant and fails if one survives;
``table.py`` prints which scenario and checker caught each. See ``docs/mutants.md``.
"""
