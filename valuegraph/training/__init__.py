"""Preference-style alignment on TRL: D²O and honesty SFT / DPO / SimPO / ORPO.

Heavy dependencies (torch, TRL) are imported by the submodules, not here, so ``import
valuegraph.training`` stays cheap.
"""
