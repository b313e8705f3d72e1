"""The one `jpeg-deep` command: every subcommand listed and reachable, `bench` finding the
repository's benchmarks, `python -m jpeg_deep.display` still the same tool."""
from helpers import run


def test_every_subcommand_is_listed_and_has_help():
    listing = run("-m", "jpeg_deep.cli", "--help")
    assert listing.returncode == 0
    for command in ("train", "infer", "evaluate", "predict", "export", "display", "demo",
                    "convert-fc", "bench"):
        assert f"  {command}" in listing.stdout, command
    for command in ("demo", "convert-fc", "bench"):  # the others' options: tests/e2e, cli tests
        helped = run("-m", "jpeg_deep.cli", command, "--help")
        assert helped.returncode == 0 and "usage" in helped.stdout.lower(), command
    unknown = run("-m", "jpeg_deep.cli", "trian")
    assert unknown.returncode == 2


def test_bench_lists_and_refuses_unknown_benchmarks():
    listing = run("-m", "jpeg_deep.cli", "bench")
    assert listing.returncode == 0 and "input_pipeline" in listing.stdout
    wrong = run("-m", "jpeg_deep.cli", "bench", "nope")
    assert wrong.returncode == 2 and "no benchmark 'nope'" in wrong.stderr


def test_display_module_is_the_display_command():
    a = run("-m", "jpeg_deep.display", "--help")
    b = run("-m", "jpeg_deep.cli", "display", "--help")
    assert a.returncode == b.returncode == 0
    options = ("--split", "--images", "--ground-truth", "--threshold", "--workers")
    assert all(o in a.stdout and o in b.stdout for o in options)
