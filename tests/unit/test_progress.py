"""inference.progress: the one callback signature, nested spans and the fraction adapter."""

from inference.progress import as_fraction, span


def test_a_nested_stage_fills_its_span_of_the_callers_steps():
    seen = []
    inner = span(lambda d, t, s: seen.append((d, t, s)), 30, 95, 100, "fitting the body")
    for done in (0, 50, 200):  # 30 + 65·50/200 = 46.25 → 46
        inner(done, 200, "fit")
    assert seen == [(30, 100, "fitting the body"), (46, 100, "fitting the body"), (95, 100, "fitting the body")]
    own = []
    span(lambda d, t, s: own.append(s), 0, 30, 100)(1, 2, "detect")
    assert own == ["detect"]  # without a stage name, the nested stage's own


def test_as_fraction_shows_the_count_and_survives_an_empty_total():
    seen = []
    report = as_fraction(lambda f, m: seen.append((f, m)))
    report(32, 90, "fit")
    report(0, 0, "track")
    assert seen == [(32 / 90, "fit: 32/90"), (0.0, "track: 0/0")]


def test_as_fraction_names_the_unit_counted():
    seen = []
    as_fraction(lambda f, m: seen.append(m), unit="frames")(32, 150, "track")
    assert seen == ["track: 32/150 frames"]  # what the status bar shows during a video import
