"""Text normalisation for speech: what a reader would say for written English.

``normalise(text)`` turns numbers, ordinals, years, times, dates, money, percentages, common
abbreviations and titles, initialisms, URLs, e-mail addresses and symbols into words, keeping the
punctuation that shapes phrasing (``, ; : . ? !``). ``split_sentences`` cuts normalised text into
sentences. Characters the front-end cannot read (another script, emoji) raise a
:class:`~voxmorph.errors.UserError` naming them.
"""

from __future__ import annotations

import re
import unicodedata

from num2words import num2words

from voxmorph.errors import UserError

MONTHS = {
    "jan": "January", "feb": "February", "mar": "March", "apr": "April", "jun": "June", "jul": "July",
    "aug": "August", "sep": "September", "sept": "September", "oct": "October", "nov": "November",
    "dec": "December",
}
MONTH_NAMES = ("January February March April May June July August September October November "
               "December").split()
ABBREVIATIONS = {
    "mr": "mister", "mrs": "missus", "ms": "miz", "dr": "doctor", "prof": "professor", "jr": "junior",
    "sr": "senior", "st": "saint", "vs": "versus", "etc": "et cetera", "approx": "approximately",
    "ave": "avenue", "mt": "mount", "dept": "department", "est": "established", "fig": "figure",
    "gov": "governor", "sen": "senator", "rep": "representative", "gen": "general", "capt": "captain",
    "lt": "lieutenant", "col": "colonel", "sgt": "sergeant", "inc": "incorporated", "ltd": "limited",
    "co": "company", "corp": "corporation", "no": "number",
}
UNITS = {"km": "kilometres", "kg": "kilograms", "cm": "centimetres", "mm": "millimetres",
         "mph": "miles per hour", "kb": "kilobytes", "mb": "megabytes", "gb": "gigabytes",
         "ms": "milliseconds", "hz": "hertz",
         "khz": "kilohertz", "lb": "pounds", "lbs": "pounds", "oz": "ounces", "ft": "feet", "mi": "miles"}
ACRONYM_WORDS = {"NASA", "NATO", "UNESCO", "UNICEF", "AIDS", "LASER", "RADAR", "SCUBA", "OPEC", "FIFA",
                 "NAFTA", "ASCII", "JPEG", "GIF", "PIN", "RAM", "ROM", "SIM", "LAN", "WAN", "OK"}
SYMBOLS = {"&": " and ", "+": " plus ", "=": " equals ", "@": " at ", "#": " number ", "°": " degrees ",
           "×": " times ", "½": " one half ", "¼": " one quarter ", "¾": " three quarters ",
           "/": " slash ", "*": " ", "_": " ", "~": " about ", "<": " less than ", ">": " more than "}
CURRENCIES = {"$": ("dollar", "cent"), "£": ("pound", "penny"), "€": ("euro", "cent"),
              "¥": ("yen", None)}
READABLE = re.compile(r"[A-Za-z0-9\s,;:.?!'\"()\-]")
"""What is left after normalisation: anything else cannot be spoken."""


def _plural(word: str, n: float) -> str:
    if n == 1:
        return word
    return {"penny": "pence", "yen": "yen"}.get(word, word + "s")


def _cardinal(digits: str) -> str:
    return num2words(int(digits.replace(",", ""))).replace(",", "")


def _number(text: str) -> str:
    """``12``, ``1,234``, ``-3.5``, ``0.25`` -> words (decimals read digit by digit)."""
    sign = "minus " if text.startswith("-") else ""
    text = text.lstrip("-+")
    whole, _, frac = text.partition(".")
    words = _cardinal(whole or "0")
    if frac:
        words += " point " + " ".join(num2words(int(d)) for d in frac)
    return sign + words


def _money(m: re.Match) -> str:
    unit, sub = CURRENCIES[m["cur"]]
    amount = m["amount"].replace(",", "")
    scale = f" {m['scale']}" if m["scale"] else ""
    whole, _, frac = amount.partition(".")
    if scale:
        return f"{_number(amount)}{scale} {_plural(unit, 2)}"
    n = int(whole or "0")
    words = f"{_cardinal(whole or '0')} {_plural(unit, n)}"
    cents = int((frac + "00")[:2]) if frac else 0
    if cents and sub:
        words += f" and {_cardinal(str(cents))} {_plural(sub, cents)}"
    return words


def _time(m: re.Match) -> str:
    h, mins = int(m["h"]), int(m["m"])
    if h > 24 or mins > 59:
        return m[0]
    if mins == 0:
        words = f"{num2words(h)} o'clock" if not m["ampm"] else num2words(h)
    elif mins < 10:
        words = f"{num2words(h)} oh {num2words(mins)}"
    else:
        words = f"{num2words(h)} {num2words(mins)}"
    if m["ampm"]:
        words += " " + " ".join(m["ampm"].replace(".", "").lower())
    return words


def _ordinal(m: re.Match) -> str:
    return num2words(int(m["n"].replace(",", "")), to="ordinal")


def _year(m: re.Match) -> str:
    return num2words(int(m[0]), to="year").replace("-", " ")


def _date(m: re.Match) -> str:
    month = MONTHS.get(m["mon"].lower().rstrip("."), m["mon"].capitalize())
    return f"{month} {num2words(int(m['day']), to='ordinal')}"


def _url(m: re.Match) -> str:
    url = re.sub(r"^(https?://)?(www\.)?", "", m[0]).rstrip("/")
    return " " + _spell_address(url) + " "


def _email(m: re.Match) -> str:
    return f" {_spell_address(m['user'])} at {_spell_address(m['domain'])} "


def _spell_address(s: str) -> str:
    s = s.replace(".", " dot ").replace("/", " slash ").replace("-", " dash ").replace("_", " underscore ")
    s = re.sub(r"\d+", lambda d: " " + " ".join(num2words(int(c)) for c in d[0]) + " ", s)
    return re.sub(r"\s+", " ", s).strip()


def _initialism(m: re.Match) -> str:
    word = m[0]
    if word in ACRONYM_WORDS or len(word) > 5:
        return word.capitalize() if word not in ACRONYM_WORDS else word.lower()
    return " ".join(word)  # "FBI" -> "F B I": espeak-ng names single letters


def _abbreviation(m: re.Match) -> str:
    word = m["w"]
    full = ABBREVIATIONS[word.lower()]
    if word.lower() == "no" and not m["next"].strip()[:1].isdigit():
        return m[0]
    if word.lower() == "st" and not m["next"].strip()[:1].isupper():
        full = "street"
    return (full.capitalize() if word[0].isupper() else full) + m["next"]


def normalise(text: str, check: bool = True) -> str:
    """Written English -> words and phrasing punctuation (see the module). With ``check``, text
    with characters that cannot be read raises a :class:`UserError` naming them."""
    t = unicodedata.normalize("NFKC", text)
    t = t.translate(str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": ", ", "—": ", ",
                                   "…": ". ", "\u00a0": " "}))
    # letters with accents read as the letter (café -> cafe); other scripts stay and are refused
    t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
    t = re.sub(r"https?://\S+[\w/]|www\.\S+[\w/]", _url, t)
    t = re.sub(r"(?P<user>[\w.+-]+)@(?P<domain>[\w-]+(\.[\w-]+)+)", _email, t)
    t = re.sub(r"(?P<cur>[$£€¥])\s?(?P<amount>\d[\d,]*(\.\d+)?)(\s?(?P<scale>million|billion|thousand))?",
               _money, t)
    t = re.sub(r"(\d[\d,]*(\.\d+)?)\s?%", lambda m: f"{_number(m[1].replace(',', ''))} percent", t)
    t = re.sub(r"\b(?P<h>\d{1,2}):(?P<m>\d{2})(\s?(?P<ampm>[ap]\.?m\.?))?(?=\W|$)", _time, t,
               flags=re.IGNORECASE)
    t = re.sub(r"\b(?P<h>\d{1,2})\s?(?P<ampm>[ap]\.?m\.?)(?=\W|$)",
               lambda m: f"{num2words(int(m['h']))} {' '.join(m['ampm'].replace('.', '').lower())}", t,
               flags=re.IGNORECASE)
    months = "|".join(list(MONTHS) + [m.lower() for m in MONTH_NAMES])
    t = re.sub(rf"\b(?P<mon>(?i:{months}))\.?\s+(?P<day>\d{{1,2}})(st|nd|rd|th)?\b", _date, t)
    t = re.sub(r"\b(?P<n>\d[\d,]*)(st|nd|rd|th)\b", _ordinal, t)
    t = re.sub(r"\b(1[1-9]\d\d|20\d\d)\b(?!\.\d)", _year, t)
    t = re.sub(r"\b(\d+)\s?(?P<u>km|kg|cm|mm|mph|kb|mb|gb|ms|hz|khz|lbs?|oz|ft|mi)\b",
               lambda m: f"{m[1]} {UNITS[m['u'].lower()]}", t, flags=re.IGNORECASE)
    t = re.sub(r"\b(?P<w>(?i:" + "|".join(ABBREVIATIONS) + r"))\.(?P<next>\s*\S?)", _abbreviation, t)
    t = re.sub(r"\b(e\.g\.|i\.e\.)", lambda m: "for example" if m[0][0] == "e" else "that is", t)
    t = re.sub(r"-?\d[\d,]*(\.\d+)?", lambda m: " " + _number(m[0]) + " ", t)
    t = re.sub(r"\b[A-Z]{2,}s?\b",
               lambda m: _initialism(re.match(r"[A-Z]+", m[0])) + m[0][len(m[0].rstrip("s")):], t)
    t = "".join(SYMBOLS.get(c, c) for c in t)
    t = re.sub(r"\s+([,;:.?!])", r"\1", t)
    t = re.sub(r"\s+", " ", t).strip()
    if check:
        bad = [c for c in dict.fromkeys(t) if not READABLE.match(c)]
        if bad:
            shown = " ".join(f"'{c}' (U+{ord(c):04X})" for c in bad[:8])
            raise UserError(f"the text has characters the English front-end cannot read: {shown}")
    return t


def split_sentences(text: str) -> list[tuple[str, str]]:
    """Normalised text -> ``(sentence, end mark)`` pairs; the mark is ``.``, ``?`` or ``!``.
    Pieces with no letters (stray punctuation) are dropped."""
    out = []
    for m in re.finditer(r"[^.?!]+(?:[.?!]+|$)", text):
        piece = m[0].strip()
        marks = piece[len(piece.rstrip(".?!")):]
        end = marks[0] if marks else "."
        body = piece.rstrip(".?!").strip(" ,;:\"'()")
        if re.search(r"[A-Za-z]", body):
            out.append((body, end))
    return out
