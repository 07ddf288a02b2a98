"""The README's "In Python" example runs as written, at a tiny budget."""

import re
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    section = README.read_text().split("## In Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    tiny = "steps=200, eval_every=100, initial_steps=50, batch_size=16, hidden=[16], threads=1"
    assert "steps=30000" in code and '"expert", 50,' in code
    code = code.replace("steps=30000", tiny).replace('"expert", 50,', '"expert", 3,')
    monkeypatch.chdir(tmp_path)  # data/ and runs/ are created here
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102
    assert [row["step"] for row in scope["rows"]] == [0, 100, 200]
    assert scope["step"] == 200 and scope["cfg"].videos.obs_data == "data/acrobot-videos"
    assert scope["mean_return"] <= 0 and 0 <= scope["success_rate"] <= 1
    assert (tmp_path / "runs" / "acrobot-rlv" / "metrics.csv").is_file()
