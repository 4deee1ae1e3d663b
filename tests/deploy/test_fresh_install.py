"""A production install: `pip install .` with no extras, as the Dockerfile does, then the
commands an operator and a leader run (issue 14 item 7).

The suite otherwise runs from a venv holding the test extras, which hid that `axis sign` needed
`requests` (pyHanko's timestamp client imports it; only pyHanko's "requests" extra brings it).
Here the tree is copied to a temporary directory (nothing in the repository is written), a new
venv gets `pip install <copy>` from the machine's configured index (pip's cache makes a second
run faster), and the installed `axis` runs without PYTHONPATH, from another directory.

Slow: about 1 minute to build the venv on the 2-core CI machine (65 s measured), 20 s for the
commands. Marked `slow`, never skipped: `make test` and CI run it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.deploy.conftest import free_port
from tests.rules.documents import make_pdf

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("axis", "formats", "signing", "archive")
INSTALL_TIMEOUT = 900  # seconds; pip on a cold cache over a slow index


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {_canonical(re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0]) for d in deps}


def _imports() -> dict[str, set[str]]:
    """Every module named in an import statement of the runtime packages (at any depth: the
    CLI imports pyHanko inside its commands), with the files that import it."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def _third_party(modules) -> set[str]:
    return {
        m
        for m in modules
        if m.split(".")[0] not in sys.stdlib_module_names and m.split(".")[0] not in PACKAGES
    }


def test_every_imported_distribution_is_declared() -> None:
    """Static and fast: an import of a distribution that pyproject does not name (even one that
    another dependency happens to bring today) is a production install waiting to break."""
    owners = importlib.metadata.packages_distributions()
    declared = _declared()
    imports = _imports()
    missing = {}
    for module in sorted(_third_party(imports)):
        top = module.split(".")[0]
        dists = {_canonical(d) for d in owners.get(top, [])}
        assert dists, f"{module} (imported by {sorted(imports[module])}) is not installed here"
        if not dists & declared:
            missing[module] = (sorted(dists), sorted(imports[module]))
    assert not missing, f"imported but not in [project.dependencies]: {missing}"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict:
    """A new venv with `pip install .` (no extras) of a copy of the tree."""
    base = tmp_path_factory.mktemp("fresh-install")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    venv = base / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([python, "-m", "venv", str(venv)], check=True, env=env, timeout=120)
    started = time.monotonic()
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(src)],
        env=env,
        cwd=base,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", AXIS_RULES="")
    return {
        "base": base,
        "python": str(venv / "bin" / "python"),
        "axis": str(venv / "bin" / "axis"),
        "env": env,
        "install_s": time.monotonic() - started,
    }


def _run(fresh: dict, *args: str, env: dict | None = None, timeout: float = 120):
    return subprocess.run(
        [fresh["axis"], *args],
        env={**fresh["env"], **(env or {})},
        cwd=fresh["base"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_installed_code_is_the_copy_and_every_import_resolves(fresh) -> None:
    """Each module of the packages imports, and so does every module the code names in an
    import statement, also inside functions (how `requests` hid: pyHanko's fetchers)."""
    modules = sorted(_third_party(_imports()))
    script = (
        "import importlib, pkgutil, sys\n"
        "import axis\n"
        "assert 'site-packages' in axis.__file__, axis.__file__\n"
        "failed = []\n"
        f"names = {modules!r}\n"
        f"for pkg in {PACKAGES!r}:\n"
        "    mod = importlib.import_module(pkg)\n"
        "    names += [m.name for m in pkgutil.walk_packages(mod.__path__, pkg + '.')\n"
        "              if '.migrations.' not in m.name and not m.name.endswith('__main__')]\n"
        "for name in names:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {type(exc).__name__}: {exc}')\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n"
    )
    done = subprocess.run(
        [fresh["python"], "-c", script],
        env=fresh["env"],
        cwd=fresh["base"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]


@pytest.mark.slow
def test_serve_sign_verify_check_in_a_fresh_install(fresh, tmp_path) -> None:
    from tests.signing.pki import P12_PASSWORD, start_pki

    # axis serve: starts on the embedded defaults (SQLite, local store), answers /healthz, stops.
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [fresh["axis"], "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={**fresh["env"], "AXIS_DATA_DIR": str(tmp_path / "data")},
            cwd=fresh["base"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline, status = time.monotonic() + 90, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert status == 200, log.read_text(errors="replace")[-3000:]
        # The console's templates and static files are installed with the package.
        login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=10)
        assert login.status_code == 200 and 'name="password"' in login.text
        css = httpx.get(f"http://127.0.0.1:{port}/static/console.css", timeout=10)
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode is not None

    # The commands this sitting added (issues 16, 19): people for the console (argon2,
    # TOTP through cryptography) and the store reaper, on the data the server just made.
    data = {"AXIS_DATA_DIR": str(tmp_path / "data")}
    made = _run(fresh, "user", "add", "admin", "--role", "operator", env=data)
    assert made.returncode == 0, made.stdout + made.stderr
    assert len(made.stdout.strip().splitlines()[-1]) >= 12  # the initial password, last line
    totp = _run(fresh, "user", "totp", "admin", env=data)
    assert totp.returncode == 0 and "otpauth://totp/" in totp.stdout, totp.stderr
    reap = _run(fresh, "store", "reap", "--dry-run", "--json", env=data)
    assert reap.returncode == 0 and json.loads(reap.stdout)["dry_run"] is True, reap.stderr

    pki = start_pki(tmp_path / "pki")
    try:
        unsigned = tmp_path / "05-QD-UBND.pdf"
        unsigned.write_bytes(make_pdf())
        signed = tmp_path / "05-QD-UBND.signed.pdf"
        # axis sign with a PKCS#12 file: the leader's visible stamp (Vietnamese font) then
        # the agency's invisible signature.
        done = _run(
            fresh,
            "sign", str(unsigned), "-o", str(signed), "--p12", str(pki.p12["leader"]),
            "--role", "leader", "--name", "Nguyễn Văn An", "--position", "CHỦ TỊCH",
            env={"AXIS_P12_PASSWORD": P12_PASSWORD},
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        twice = tmp_path / "05-QD-UBND.signed2.pdf"
        done = _run(
            fresh,
            "sign", str(signed), "-o", str(twice), "--p12", str(pki.p12_nopass["agency"]),
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]

        done = _run(fresh, "verify", "--trust", str(pki.trust_root), "--json", str(twice))
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        assert done.stdout.count('"TOTAL_PASSED"') >= 3  # the file and both signatures

        done = _run(fresh, "check", "--trust", str(pki.trust_root), "--json", str(twice))
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        assert '"verdict": "clean"' in done.stdout
    finally:
        pki.stop()
