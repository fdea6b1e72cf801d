"""Honesty alignment (MoHoBench §3.7): SFT, DPO, SimPO and ORPO, text or vision."""
