"""Country names as the lists write them ("Korea, North", "Region: Crimea") to ISO-2 codes."""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# Names in OFAC and CSL files that pycountry does not resolve by itself.
_OVERRIDES = {
    "russia": "RU",
    "korea, north": "KP",
    "north korea": "KP",
    "korea, south": "KR",
    "south korea": "KR",
    "burma": "MM",
    "turkey": "TR",
    "west bank": "PS",
    "gaza": "PS",
    "northern gaza": "PS",
    "north gaza": "PS",
    "palestinian": "PS",
    "bahamas, the": "BS",
    "the gambia": "GM",
    "gambia, the": "GM",
    "congo, democratic republic of the": "CD",
    "congo, republic of the": "CG",
    "kosovo": "XK",
    "cote d ivoire": "CI",
    "macau": "MO",
    "north macedonia, the republic of": "MK",
    "man, isle of": "IM",
    "crimea": "UA",
    "netherlands antilles": "CW",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "vietnam": "VN",
    "brunei": "BN",
    "cape verde": "CV",
    "swaziland": "SZ",
    "micronesia": "FM",
}
_ISO2 = re.compile(r"^[A-Z]{2}$")


@lru_cache(maxsize=4096)
def to_iso2(name: str) -> str | None:
    """ISO-2 code for a country name or code; None for "undetermined", regions without one."""
    text = (name or "").strip().rstrip(".")
    if not text or text == "-0-":
        return None
    if _ISO2.match(text):
        return text if text == "XK" or pycountry.countries.get(alpha_2=text) else None
    low = re.sub(r"^region:\s*", "", text.casefold())
    if low in _OVERRIDES:
        return _OVERRIDES[low]
    try:
        return str(pycountry.countries.lookup(low).alpha_2)
    except LookupError:
        return None


@lru_cache(maxsize=512)
def country_names(code: str) -> tuple[str, ...]:
    """Names a question may use for a country code (for corroborating one-word hits)."""
    names = {k for k, v in _OVERRIDES.items() if v == code and "," not in k}
    country = pycountry.countries.get(alpha_2=code)
    if country is not None:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value and "," not in value:
                names.add(str(value).casefold())
    return tuple(sorted(names))
