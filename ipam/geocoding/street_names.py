"""Street names made readable: NYC's address directory writes "EAST 13 STREET".

MeshDB (`meshapi/pelias.py`, `humanify_street_address`) runs the geosearch answer's
"<housenumber> <street>" through a Pelias address parser to find which words are the street,
then title-cases them and adds ordinals to bare numbers ("229 EAST 13 STREET" ->
"229 East 13th Street", "35 AVENUE" -> "35th Avenue"). Geosearch already answers the house
number and the street as separate fields, so no parser (and no parser service) is needed here:
the parts arrive labelled.
"""

from __future__ import annotations

import re

_BARE_NUMBER = re.compile(r"^\d+$")
_NUMBER_THEN_LETTERS = re.compile(r"^(\d+)([A-Za-z]+)$")


def ordinal(number: int) -> str:
    """1 -> 1st, 2 -> 2nd, 11 -> 11th, 23 -> 23rd (English ordinal indicators)."""
    if number % 100 in (11, 12, 13):
        return f"{number}th"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _word(word: str) -> str:
    if _BARE_NUMBER.match(word):
        return ordinal(int(word))
    numbered = _NUMBER_THEN_LETTERS.match(word)
    if numbered:  # "13TH" stays a number with its indicator: "13th", never "13Th"
        return numbered.group(1) + numbered.group(2).lower()
    # str.title() capitalises after an apostrophe ("MARK'S" -> "Mark'S"); MeshDB fixes "'S".
    return word.title().replace("'S", "'s")


def readable_street(street: str) -> str:
    """An upper-case street in title case with ordinal numbers ("35 AVENUE" -> "35th Avenue")."""
    return " ".join(_word(word) for word in street.split())


def readable_address(house_number: str, street: str) -> str:
    """House number (upper case: "215A") and readable street, as one address line."""
    number = " ".join(house_number.split()).upper()
    return f"{number} {readable_street(street)}".strip()
