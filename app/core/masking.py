"""How personal numbers look to anyone but their owner: the first and last digits, stars in between."""
from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """138****8000; shorter numbers keep only their last two digits."""
    if not phone:
        return ""
    if len(phone) >= 7:
        return f"{phone[:3]}****{phone[-4:]}"
    return "*" * max(len(phone) - 2, 1) + phone[-2:] if len(phone) > 2 else "*" * len(phone)


def mask_id_number(number: str | None) -> str:
    """110***********002X (ID card numbers and unified social credit codes alike)."""
    if not number:
        return ""
    if len(number) > 7:
        return f"{number[:3]}{'*' * (len(number) - 7)}{number[-4:]}"
    return "*" * len(number)
