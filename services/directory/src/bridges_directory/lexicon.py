"""The words search knows besides the directory's own (pure data and the public document).

Stop words are Snowball's English and Spanish lists (as PostgreSQL ships them), folded, less a few
Spanish ones that are English content words ("son", "sea"). Query stop words are words people
put in a request that say nothing about a program ("need help with my bills"): dropped from
queries only. Synonym groups are curated for the needs Bridges refers for, in English and
Spanish; each word of a group finds what any other finds. Taxonomy terms carry their own
Spanish names (`x_bridges.names` of a term), indexed with the programs they classify.

`GET /search/lexicon` serves all of it, with the rules' constants, as one document: the tablet
matches offline with exactly these words (`app/src/matching.js`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from bridges_directory import matching

_SNOWBALL_EN = """i me my myself we our ours ourselves you your yours yourself yourselves he him his
himself she her hers herself it its itself they them their theirs themselves what which who whom
this that these those am is are was were be been being have has had having do does did doing a
an the and but if or because as until while of at by for with about against between into through
during before after above below to from up down in out on off over under again further then once
here there when where why how all any both each few more most other some such no nor not only own
same so than too very s t can will just don should now"""

_SNOWBALL_ES = """de la que el en y a los del se las por un para con no una su al lo como más pero
sus le ya o este sí porque esta entre cuando muy sobre también me hasta hay donde quien desde
todo nos durante todos uno les ni contra otros ese eso ellos e esto mí antes algunos qué unos yo
otro otras otra él tanto esa estos mucho quienes nada muchos cual poco ella estar estas algunas
algo nosotros mi mis tú te ti tu tus ellas nosotras os mío mía míos mías tuyo tuya tuyos tuyas
suyo suya suyos suyas nuestro nuestra nuestros nuestras vuestro vuestra vuestros vuestras esos
esas estoy estás está estamos estáis están esté estés estemos estéis estén estaré estarás estará
estaremos estaréis estarán estaría estarías estaríamos estaríais estarían estaba estabas
estábamos estabais estaban estuve estuviste estuvo estuvimos estuvisteis estuvieron estuviera
estuvieras estuviéramos estuvierais estuvieran estando estado estada estados estadas he has ha
hemos habéis han haya hayas hayamos hayáis hayan habré habrás habrá habremos habréis habrán
habría habrías habríamos habríais habrían había habías habíamos habíais habían hube hubo
habiendo habido soy eres es somos sois sean seré será seremos serán sería serían eras éramos
eran fui fue fuimos fueron fuera fueran tengo tienes tiene tenemos tenéis tienen tenga tengas
tengamos tengan tendré tendrá tendría tenía teníamos tenían tuve tuvo tuvimos tuvieron teniendo
tenido"""

# People's phrasing around a need, not the need ("I need help finding a place near me").
_QUERY_EN = """need needs needed needing want wants wanted looking look find finding get getting
please help helping somewhere someone somebody something anything place places program programs
service services near nearby around close today tonight asap urgently thanks thank im
ive id one two three four five six seven eight nine ten"""
_QUERY_ES = """necesito necesita necesitan necesitamos ayuda ayudar ayudame busco buscar buscando
quiero quiere queremos encontrar cerca hoy ahora favor gracias alguien algun alguna lugar programa
programas servicio servicios aqui alli ahi dos tres cuatro cinco seis siete ocho nueve diez"""

# Each group: words that find what any of them finds (single words; "foodbank" is the run-together
# form names are indexed with). Spanish without accents (queries are folded).
SYNONYMS: tuple[tuple[str, ...], ...] = (
    (
        "food",
        "comida",
        "comidas",
        "alimento",
        "alimentos",
        "groceries",
        "grocery",
        "hunger",
        "hungry",
        "hambre",
        "viveres",
    ),
    ("pantry", "foodbank", "despensa", "banco"),
    (
        "meal",
        "meals",
        "lunch",
        "dinner",
        "supper",
        "breakfast",
        "comedor",
        "almuerzo",
        "cena",
        "desayuno",
    ),
    ("shelter", "refuge", "refugio", "albergue", "homeless", "homelessness", "indigente"),
    ("housing", "vivienda", "apartment", "apartamento"),
    ("rent", "renta", "alquiler", "rental"),
    ("eviction", "evicted", "desalojo", "desahucio"),
    (
        "bill",
        "bills",
        "utility",
        "utilities",
        "electric",
        "electricity",
        "energy",
        "heating",
        "factura",
        "facturas",
        "recibo",
        "luz",
        "electricidad",
        "calefaccion",
    ),
    (
        "counseling",
        "counselling",
        "counselor",
        "counsellor",
        "therapy",
        "therapist",
        "consejeria",
        "consejero",
        "terapia",
        "psicologo",
    ),
    ("health", "salud"),
    ("crisis", "emergency", "emergencia", "urgent", "urgente"),
    (
        "rehab",
        "rehabilitation",
        "addiction",
        "adiccion",
        "adicciones",
        "rehabilitacion",
        "substance",
        "sobriety",
        "drogas",
        "alcoholism",
        "alcoholismo",
    ),
    ("detox", "detoxification", "withdrawal", "desintoxicacion"),
    ("lawyer", "lawyers", "attorney", "abogado", "abogada", "abogados", "legal"),
    ("tenant", "tenants", "renter", "inquilino", "inquilinos"),
    (
        "immigration",
        "immigrant",
        "inmigracion",
        "inmigrante",
        "migrante",
        "citizenship",
        "ciudadania",
        "asylum",
        "asilo",
    ),
    ("violence", "violencia", "abuse", "abuso", "maltrato"),
    ("domestic", "domestica", "domestico"),
    (
        "kid",
        "kids",
        "child",
        "children",
        "nino",
        "ninos",
        "nina",
        "ninas",
        "hijo",
        "hijos",
        "hija",
        "hijas",
    ),
    ("baby", "babies", "infant", "infants", "newborn", "bebe", "bebes"),
    ("teen", "teens", "teenager", "adolescent", "adolescente", "adolescentes", "joven", "jovenes"),
    (
        "parent",
        "parents",
        "mother",
        "mom",
        "mum",
        "father",
        "dad",
        "madre",
        "mama",
        "padre",
        "padres",
        "papa",
    ),
    ("family", "families", "familia", "familias"),
    ("senior", "seniors", "elderly", "elder", "anciano", "ancianos", "mayores"),
    ("evening", "night", "overnight", "noche", "nocturno"),
    ("spanish", "espanol", "latino", "latina", "hispanic", "hispano"),
    ("diaper", "diapers", "panal", "panales"),
    ("mentor", "mentoring", "mentoria", "tutor"),
    ("school", "escuela", "homework", "tarea", "tareas"),
)

# Not stop words whatever Snowball's Spanish list says: English content words.
_NOT_STOP_WORDS = {"son", "sea", "era", "sin", "ante", "fueras", "sentido"}


def _folded(text: str) -> frozenset[str]:
    return frozenset(matching.fold(w) for w in text.split()) - _NOT_STOP_WORDS


STOP_WORDS = {"en": _folded(_SNOWBALL_EN), "es": _folded(_SNOWBALL_ES)}
QUERY_STOP_WORDS = {"en": _folded(_QUERY_EN), "es": _folded(_QUERY_ES)}


@dataclass(frozen=True)
class Lexicon:
    """The words and rules of search, in every language at once (a query's language is unknown)."""

    stop_words: frozenset[str]
    query_stop_words: frozenset[str]
    synonyms: matching.Synonyms

    @cached_property
    def stems(self) -> frozenset[str]:
        """Every stem the lexicon knows: a typo may lead to one of them ("refujio" → refugio)."""
        return frozenset(self.synonyms.groups)

    def concepts(self, text: str) -> list[matching.Concept]:
        return matching.concepts(text, self.stop_words, self.query_stop_words, self.synonyms)


LEXICON = Lexicon(
    stop_words=STOP_WORDS["en"] | STOP_WORDS["es"],
    query_stop_words=QUERY_STOP_WORDS["en"] | QUERY_STOP_WORDS["es"],
    synonyms=matching.Synonyms.of(SYNONYMS),
)


@dataclass(frozen=True)
class Term:
    """A taxonomy term as offline matching needs it: its names by language and its parent."""

    id: str
    code: str | None
    parent_id: str | None
    names: Mapping[str, str]


def document(
    terms: Sequence[Term],
    languages: Mapping[str, Sequence[str]],
    audiences: Sequence[tuple[float, float, str]],
) -> bytes:
    """The public lexicon: everything `app/src/matching.js` needs to match as the server does.
    `version` changes whenever anything in it does."""
    body: dict[str, Any] = {
        "stemmer": "snowball-english-2 (porter2)",
        "rules": {
            "max_concepts": matching.MAX_CONCEPTS,
            "typos": {"one_from_letters": 5, "two_from_letters": 9, "words_with_digits": 0},
            "vocabulary_word_max": matching.VOCABULARY_WORD_MAX,
            "coverage": matching.COVERAGE,
            "field_score": matching.FIELD_SCORE,
        },
        "stop_words": {lang: sorted(words) for lang, words in STOP_WORDS.items()},
        "query_stop_words": {lang: sorted(words) for lang, words in QUERY_STOP_WORDS.items()},
        "synonyms": [list(group) for group in SYNONYMS],
        "terms": [
            {"id": t.id, "code": t.code, "parent_id": t.parent_id, "names": dict(t.names)}
            for t in sorted(terms, key=lambda t: t.id)
        ],
        "languages": {code: list(names) for code, names in sorted(languages.items())},
        "audiences": [
            {"minimum_age": low, "maximum_age": high, "words": words.split()}
            for low, high, words in audiences
        ],
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
    version = hashlib.sha256(canonical).hexdigest()[:16]
    return json.dumps({"version": version, **body}, ensure_ascii=False).encode()
