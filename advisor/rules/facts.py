"""The fact vocabulary shared by the situation extractor, the rules and the determinations.

A fact is an atom ``kind:name``. The situation extractor states facts about a conversation;
rule and determination conditions are written in the same atoms, so a condition can only
name a fact that something can actually state. Place facts take a place id, a Country
Group or a regime from ``corpus/rules/places.yaml`` (``dest:IR``, ``dest_group:E:1``,
``nat_regime:embargo``).
"""

from __future__ import annotations

import re

STATUSES = {
    "us_citizen": "U.S. citizen",
    "permanent_resident": "U.S. lawful permanent resident",
    "protected_individual": "protected individual (refugee or asylee)",
    "foreign_person": "foreign person",
    "us_persons_only": "only U.S. persons in the U.S. are involved",
}
LOCATIONS = {"us": "in the U.S.", "abroad": "outside the U.S."}
ROLES = {
    "recipient": "recipient",
    "collaborator": "collaborator",
    "coauthor": "co-author",
    "student": "student",
    "employee": "employee",
    "visitor": "visitor",
    "sponsor": "sponsor",
    "customer": "customer",
    "end_user": "end user",
    "user": "user of a public service or software",
    "contributor": "contributor",
}
PARTY_KINDS = {
    "university": "university or research institute",
    "company": "company",
    "government": "government body",
    "military": "military end user",
    "intelligence": "intelligence or military-intelligence end user",
    "police": "police or security service",
    "listed_named": "a named party found on a screening list",
    "listed_described": "a party described as listed or sanctioned",
    "denied": "a party under a BIS denial order",
}
ITEMS = {
    "published": "published or to-be-published information",
    "fundamental_research": "fundamental research results",
    "educational": "catalog-course or general teaching material",
    "public_code": "public open-source code",
    "nonpublic_code": "non-public source code",
    "encryption": "encryption item or code",
    "mass_market": "mass-market encryption product",
    "intrusion": "intrusion software, exploits or their technology",
    "surveillance": "surveillance or interception item",
    "vulnerability_info": "vulnerability or incident information",
    "cryptanalysis": "cryptanalytic item",
    "hardware": "hardware, equipment or a prototype",
    "itar": "ITAR defense article, technical data or defense service",
    "ear99": "EAR99 item",
    "eccn": "item with a named ECCN",
    "usml": "item in a USML category",
    "controlled_technology": "export-controlled technology or technical data",
    "proprietary": "proprietary or confidential third-party information",
    "devices": "laptop, phone or other personal device",
    "software": "software or code (kind not stated)",
    "technology": "technical data or know-how (kind not stated)",
    "data": "research data or files",
    "e2e_encrypted": "end-to-end encrypted storage or transmission",
    "nonstandard_crypto": "non-standard or home-made cryptography",
}
ACTIVITIES = {
    "publish": "publish",
    "present": "present at a conference or seminar",
    "peer_review": "peer review or edit a manuscript",
    "teach": "teach or train",
    "collaborate": "collaborate",
    "hire_host": "hire or host a person",
    "release": "show, share or give access",
    "send": "send, email or upload",
    "ship": "ship or hand-carry",
    "travel": "travel",
    "cloud": "store or process in the cloud",
    "service": "sell or provide a service",
    "sign_agreement": "sign an agreement or accept a clause",
    "accept_contributions": "accept contributions",
    "block_users": "block or geofence users",
    "download": "download or receive",
    "disclose_vulnerability": "disclose or report a vulnerability",
    "licence_question": "ask whether a licence or authorisation is needed",
    "sponsor_restriction": "accept publication or foreign-national restrictions",
    "unauthorized_access": "access systems without authorisation",
    "level_instruction": "instruct the advisor to change its level",
    "payment": "pay or receive money",
    "permitted_review": "a sponsor review only for patents or the sponsor's own information",
    "ask_definition": "ask what a term or rule means",
    "ask_classification": "ask for an item's classification (ECCN)",
    "general_licence": "rely on an OFAC general licence",
    "ofac_licensing": "ask OFAC for a licence or permission",
    "import": "buy or import from",
    "report_violation": "report or disclose a possible violation",
    "evasion": "evade or get around sanctions or export controls",
    "screening_hit": "resolve a possible match on a screening list",
    "sanctions_change": "ask about sanctions that were lifted, eased or changed",
    "deemed_export_certification": "certify export-control status for a visa petition (I-129)",
    "sponsor_review": "a sponsor reviews publications before release",
}
PLACE_KINDS = (
    "dest",
    "dest_group",
    "dest_regime",
    "nat",
    "nat_group",
    "nat_regime",
    "topic",
    "born",
)
FIXED = {
    "status": STATUSES,
    "located": LOCATIONS,
    "role": ROLES,
    "party": PARTY_KINDS,
    "item": ITEMS,
    "activity": ACTIVITIES,
}
ATOM = re.compile(r"^([a-z_]+):([A-Za-z0-9_:*.-]+)$")
REGIMES = {"embargo", "occupied_region", "russia_belarus", "watch", "none"}
MISSING = {
    "publication": "Will the results or code be published, or are they already public?",
    "recipient_location": "Where is the recipient located, and of which country are they a "
    "citizen or permanent resident?",
    "recipient_status": "Is the person a U.S. citizen, a U.S. permanent resident or a "
    "protected individual, or a foreign national?",
    "classification": "What is the item's export classification (ECCN, EAR99 or USML "
    "category)? If nobody knows yet, that is the first step.",
    "destination": "Which country will the item, data or service go to?",
    "item": "What exactly will be shared, sent or taken: published results, source code, "
    "technical data, software or hardware?",
    "end_use": "Who is the end user and what will they use it for?",
    "sponsor_terms": "Does the agreement restrict publication or who may take part?",
}

MISSING_SHORT = {
    "publication": "whether it is published",
    "recipient_location": "where the recipient is",
    "recipient_status": "the recipient's citizenship or status",
    "classification": "the item's classification",
    "destination": "the destination",
    "item": "what exactly is shared",
    "end_use": "the end user and end use",
    "sponsor_terms": "the agreement's terms",
}


def check_atom(atom: str, places: set[str], groups: set[str]) -> str | None:
    """Why ``atom`` names no fact the extractor can state (``None`` when it is valid)."""
    match = ATOM.match(atom)
    if not match:
        return f"{atom!r} is not a fact; write kind:name, e.g. dest_group:E:1 or item:intrusion"
    kind, name = match.groups()
    if name == "*":
        return (
            None
            if kind in FIXED or kind in PLACE_KINDS or kind == "missing"
            else (f"unknown fact kind {kind!r}")
        )
    if kind in FIXED:
        return None if name in FIXED[kind] else f"unknown {kind} {name!r} in {atom!r}"
    if kind == "missing":
        return None if name in MISSING else f"unknown missing fact {name!r}"
    if kind in ("dest", "nat", "topic", "born"):
        return None if name in places else f"unknown place {name!r} in {atom!r}"
    if kind in ("dest_group", "nat_group"):
        return None if name in groups else f"unknown country group {name!r} in {atom!r}"
    if kind in ("dest_regime", "nat_regime"):
        return None if name in REGIMES else f"unknown regime {name!r} in {atom!r}"
    return f"unknown fact kind {kind!r} in {atom!r}"


def atoms_of(entry: str) -> list[str]:
    """Atoms of a condition entry: ``|`` separates alternatives, ``&`` joins requirements."""
    return [a.strip() for option in entry.split("|") for a in option.split("&")]


def holds(entry: str, facts: set[str]) -> bool:
    """``a&b|c`` holds when a and b are both facts, or c is."""
    return any(
        all(atom.strip() in facts for atom in option.split("&")) for option in entry.split("|")
    )
