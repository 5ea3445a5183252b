"""The main command's closing summary: what it says about money."""

from decimal import Decimal

from wan_dagster.command.summary import Spend, Summary, render


def test_a_generation_with_no_published_price_is_counted_never_shown_as_zero():
    this_run, all_runs = Spend(), Spend()
    for spend in (this_run, all_runs):
        spend.add("wanx2.1-imageedit", Decimal("0.14"))
        spend.add("wanx2.1-i2v-turbo", None)
    all_runs.add("wanx2.1-imageedit", None)  # an older run whose usage named no price

    lines = render(Summary(["APP-1001"], [], this_run, all_runs)).splitlines()

    def row(name: str) -> list[str]:
        (found,) = [line for line in lines if line.startswith(f"  {name} ")]
        return found.split()

    assert row("wanx2.1-i2v-turbo") == ["wanx2.1-i2v-turbo", "unpriced", "(", "1)", "/",
                                        "unpriced", "(", "1", "generations)"]
    assert row("wanx2.1-imageedit") == ["wanx2.1-imageedit", "0.14", "(", "1)", "/", "0.14",
                                        "+", "1", "unpriced", "(", "2", "generations)"]
    assert row("total") == ["total", "0.14", "+", "1", "unpriced", "(", "2)", "/", "0.14", "+",
                            "2", "unpriced", "(", "3", "generations)"]
    assert "Spent by this command: 0.14 CNY, plus 1 generation(s) with no published price" \
        in lines


def test_a_command_that_paid_only_priced_generations_says_just_the_sum():
    spend = Spend()
    spend.add("wanx2.1-imageedit", Decimal("0.14"))
    assert "Spent by this command: 0.14 CNY" in render(Summary(["A"], [], spend, spend)).splitlines()
