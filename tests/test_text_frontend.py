"""The speech synthesiser's text front-end: normalisation, sentences, tokens."""

import pytest

from voxmorph.errors import UserError
from voxmorph.text.normalise import normalise, split_sentences
from voxmorph.text.tokens import EDGE, PAUSE, tokenise


@pytest.mark.parametrize("written, spoken", [
    ("It's 7:45 on Dec. 3rd, and the 2nd train is late.",
     "It's seven forty-five on December third, and the second train is late."),
    ("Meet at 7:05.", "Meet at seven oh five."),
    ("Doors open at 9:00.", "Doors open at nine o'clock."),
    ("See you at 5 p.m. sharp.", "See you at five p m sharp."),
    ("It cost $12.50 in 1999.", "It cost twelve dollars and fifty cents in nineteen ninety nine."),
    ("Only £3 and 15% off.", "Only three pounds and fifteen percent off."),
    ("We had 2,345 visitors.", "We had two thousand three hundred and forty-five visitors."),
    ("Pi is 3.14.", "Pi is three point one four."),
    ("Dr. Smith lives on Main St. now.", "Doctor Smith lives on Main Street now."),
    ("St. Paul is here.", "Saint Paul is here."),
    ("The FBI met NASA.", "The F B I met nasa."),
    ("Write to jo.doe@example.com today.", "Write to jo dot doe at example dot com today."),
    ("Go to https://voxmorph.org/docs now.", "Go to voxmorph dot org slash docs now."),
    ("Salt & pepper.", "Salt and pepper."),
    ("He finished 21st of 40.", "He finished twenty-first of forty."),
    ("It was a café.", "It was a cafe."),
])
def test_normalise_reads_written_forms_out(written, spoken):
    assert normalise(written) == spoken


@pytest.mark.parametrize("text, shown", [("Привет", "'П' (U+041F)"), ("日本", "'日' (U+65E5)"),
                                         ("ok 🙂", "U+1F642")])
def test_other_scripts_are_refused_naming_the_characters(text, shown):
    with pytest.raises(UserError, match="cannot read") as err:
        normalise(text)
    assert shown in str(err.value)


def test_sentences_keep_their_end_marks_and_drop_stray_punctuation():
    found = split_sentences(normalise("Is it you? Yes! It is. ... !!"))
    assert found == [("Is it you", "?"), ("Yes", "!"), ("It is", ".")]
    assert split_sentences(normalise("?!... ,,")) == []


def test_tokens_pause_at_commas_and_mark_word_starts():
    (tok,) = tokenise([("Well, hello there", ".")])
    assert tok.ids[0] == EDGE and tok.ids[-1] == EDGE
    assert tok.ids.count(PAUSE) == 1
    # three words: three word starts, the first phone after each EDGE/PAUSE among them
    assert sum(tok.word_start) == 3
    after_pause = tok.ids.index(PAUSE) + 1
    assert tok.word_start[after_pause] == 1 and tok.word_start[1] == 1
    assert all(0 < i < PAUSE for i, s in zip(tok.ids, tok.word_start, strict=True) if s)


def test_bench_wer_reads_the_reference_as_the_synthesiser_does():
    from voxmorph.eval.bench_tts import HARVARD, wer, words

    assert len(HARVARD) == 40 and len(set(HARVARD)) == 40
    assert words("It's 7:45, Dr. Lee!") == ["it's", "seven", "forty", "five", "doctor", "lee"]
    assert wer("The girl at the booth sold fifty bonds.", "the girl at the booth sold fifty bonds") == 0.0
    assert wer("The girl at the booth sold fifty bonds.", "a girl at booth sold fifty bonds") == 2 / 8
