"""An English NER corpus in the CoNLL style, generated with Faker: people, places, organisations.

Sentences come from templates filled with Faker's real name lists (several locales),
tagged word by word in the BIO scheme (the integer codes of
:mod:`optim.exercises.finetuning`: O = 0, B-PER/I-PER = 1/2, B-LOC/I-LOC = 3/4,
B-ORG/I-ORG = 5/6). The templates carry the ambiguity real NER has, so a tagger
must read the context, not memorise names:

* a company named after people ("Becker, Wolff and Schmidt"), or after a place
  ("Leipzig Logistics");
* a surname that is also a place ("Mr. Lincoln", "Charlotte" as a first name);
* mentions cut short (a surname alone) or written in lower case (the model's
  tokenizer is uncased anyway, so case is never a cue);
* entities side by side ("Siemens chief executive Anna Weber", "Weber of Berlin");
* names used as ordinary words ("the Marshall plan" is no entity here: the
  convention is written in :data:`CONVENTIONS`), and sentences with no entity.

Everything is seeded; :func:`make_splits` gives fixed train / validation / test
splits generated from disjoint seeds, so no sentence is shared by accident (names
may repeat, as they do in real corpora).
"""
from __future__ import annotations

import random

from faker import Faker

TAGS = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG")
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT")
CONVENTIONS = """\
A person's title (Mr., Dr., chief executive) is not part of the entity; a company's
legal suffix (GmbH, Inc., and Sons) is. A name inside an ordinary noun phrase
("the Baker method", "a Paris fashion show") is no entity."""

# Slots: {PER} a full name, {LAST} a surname alone, {FIRST} a first name alone,
# {LOC} a city, {COUNTRY} a country, {ORG} a company name, {WORD} a name used as an
# ordinary word (tagged O), {NUM} a number.
TEMPLATES = (
    "{PER} met {PER} in {LOC} on Tuesday .",
    "{PER} , who works for {ORG} , moved to {LOC} last year .",
    "{ORG} said on Monday that it would open an office in {LOC} .",
    "Shares of {ORG} fell {NUM} percent after {LAST} resigned .",
    "{LAST} told reporters in {LOC} that {ORG} had no comment .",
    "The talks between {ORG} and {ORG} ended without a deal .",
    "Mr. {LAST} flew from {LOC} to {LOC} with {FIRST} .",
    "Dr. {PER} of {ORG} led the study .",
    "{ORG} chief executive {PER} visited {COUNTRY} .",
    "According to {PER} , prices in {COUNTRY} rose by {NUM} percent .",
    "{FIRST} and {FIRST} grew up near {LOC} .",
    "The {WORD} method was first tested in {LOC} .",
    "{PER} sold her stake in {ORG} to {ORG} .",
    "Police in {LOC} are looking for {PER} .",
    "{LOC} beat {LOC} {NUM} - {NUM} on Sunday .",
    "The weather was cold and the trains were late again .",
    "Nobody expected the meeting to last {NUM} hours .",
    "Prices rose by {NUM} percent in the first quarter .",
    "The committee will vote on the proposal next week .",
    "{PER} ( {ORG} ) and {PER} ( {ORG} ) signed the letter .",
    "a spokesman for {org} declined to comment .",
    "{per} arrived in {loc} late on friday .",
    "{LAST} 's lawyer said {LAST} would appeal .",
    "{ORG} , based in {LOC} , employs {NUM} people .",
    "The {WORD} report was published by {ORG} in {COUNTRY} .",
    "{PER} has lived in {LOC} , {COUNTRY} since {NUM} .",
    "In {LOC} , {PER} opened a shop with {PER} .",
    "{ORG} and the government of {COUNTRY} reached an agreement .",
    "The {WORD} family sold the house to {PER} .",
    "{PER} replaces {PER} as head of {ORG} .",
    "Fans in {LOC} cheered for {LAST} .",
    "{LOC} is {NUM} kilometres from {LOC} .",
    "{ORG} hired {PER} from {ORG} .",
    "Mrs. {LAST} thanked the people of {LOC} .",
    "She read the {WORD} papers at the library in {LOC} .",
    "{PER} 's sister , {FIRST} , studies in {COUNTRY} .",
)


def _city(fake: Faker) -> str:
    """A city name. Some locales draw it from a list built from a ``set`` (Faker's it_IT), whose
    order changes with Python's hash seed from one process to the next: draw from such lists
    sorted, so the corpus is the same in every process."""
    cities = _city_list(fake)
    return fake.random_element(cities) if cities else fake.city()


_CITY_LISTS: dict = {}


def _city_list(fake: Faker):
    locale = str(fake.locales[0])
    if locale not in _CITY_LISTS:
        found = [getattr(p, "cities") for p in fake.get_providers()
                 if isinstance(getattr(p, "cities", None), (list, tuple)) and getattr(p, "cities")]
        _CITY_LISTS[locale] = tuple(sorted(found[0])) if found else None
    return _CITY_LISTS[locale]


def _company(fake: Faker, rng: random.Random, city: str) -> str:
    """A company name: Faker's (often made of surnames), or one made of a place."""
    if rng.random() < 0.25:
        return f"{city} {rng.choice(('Logistics', 'Holdings', 'Bank', 'Energy', 'Media', 'Group'))}"
    return fake.company()


def _words(text: str) -> list[str]:
    """Split a name the way the sentences are split: on spaces, with punctuation apart."""
    for mark in (",", "(", ")", "'s"):
        text = text.replace(mark, f" {mark} ")
    return text.split()


def _fill(template: str, fake: Faker, rng: random.Random) -> tuple[list[str], list[int]]:
    words, tags = [], []
    for piece in template.split():
        kind, lower = piece.strip("{}").upper(), piece != piece.upper()
        if not (piece.startswith("{") and piece.endswith("}")):
            words.append(piece)
            tags.append(0)
            continue
        city = _city(fake)
        value, code = {
            "PER": (f"{fake.first_name()} {fake.last_name()}", 1),
            "LAST": (fake.last_name(), 1),
            "FIRST": (fake.first_name(), 1),
            "LOC": (city, 3),
            "COUNTRY": (fake.country(), 3),
            "ORG": (_company(fake, rng, city), 5),
            "WORD": (rng.choice((fake.last_name(), city)), 0),
            "NUM": (str(rng.randint(2, 99)), 0),
        }[kind]
        if lower or (code and rng.random() < 0.05):   # lower-case mentions
            value = value.lower()
        pieces = _words(value)
        words += pieces
        tags += [code] + [code + 1 if code else 0] * (len(pieces) - 1)
    return words, tags


def make_sentences(n: int, seed: int) -> list[tuple[list[str], list[int]]]:
    """``n`` sentences, each a list of words and a list of BIO tag codes, from ``seed``."""
    rng = random.Random(seed)
    fakers = []
    for i, locale in enumerate(LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 100 + i)
        fakers.append(fake)
    return [_fill(rng.choice(TEMPLATES), rng.choice(fakers), rng) for _ in range(n)]


def make_splits(n_train: int = 600, n_val: int = 300, n_test: int = 500, seed: int = 0):
    """Fixed train / validation / test splits (seeds 3s+1, 3s+2, 3s+3: disjoint streams)."""
    return (make_sentences(n_train, 3 * seed + 1), make_sentences(n_val, 3 * seed + 2),
            make_sentences(n_test, 3 * seed + 3))


def show(words, tags) -> str:
    """A sentence with its entities in brackets: ``[Anna Weber]PER met ...``."""
    out, open_kind = [], None
    for word, tag in zip(list(words) + [""], list(tags) + [0]):
        continues = tag and tag % 2 == 0 and open_kind == TAGS[tag][2:]
        if open_kind and not continues:
            out[-1] += f"]{open_kind}"
            open_kind = None
        if tag and not continues:
            word, open_kind = "[" + word, TAGS[tag][2:]
        if word:
            out.append(word)
    return " ".join(out)
