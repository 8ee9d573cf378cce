"""Password hashing, users configuration, login throttling and ``advisor users hash``."""

from __future__ import annotations

import argparse
import hashlib
import hmac
import io
from pathlib import Path
from types import SimpleNamespace

import pytest

from advisor import cli
from advisor.records import auth
from advisor.records.auth import (
    UsersConfigError,
    check_login,
    gradio_auth,
    hash_password,
    load_users,
    parse_hash,
    verify_password,
)

FAST = 200_000  # the minimum; keeps the suite quick while exercising the real code path


@pytest.fixture(scope="module")
def alice_hash() -> str:
    return hash_password("correct horse battery", iterations=FAST)


def settings(**values: object) -> SimpleNamespace:
    return SimpleNamespace(**values)


def test_hash_format_and_verification(alice_hash: str) -> None:
    algorithm, iterations, salt, digest = alice_hash.split("$")
    assert (algorithm, iterations) == ("pbkdf2_sha256", str(FAST))
    assert parse_hash(alice_hash)[0] == FAST
    assert verify_password("correct horse battery", alice_hash)
    assert not verify_password("correct horse batterY", alice_hash)
    assert not verify_password("", alice_hash)
    assert hash_password("correct horse battery", iterations=FAST) != alice_hash  # salted
    assert parse_hash(hash_password("x" * 8))[0] == auth.ITERATIONS >= 200_000
    with pytest.raises(ValueError, match="at least 200000"):
        hash_password("pw", iterations=1000)


@pytest.mark.parametrize(
    "bad",
    [
        "plain-text-password",
        "md5$200000$abc$def",
        "pbkdf2_sha256$many$c2FsdHNhbHQ=$AAAA",
        "pbkdf2_sha256$1000$c2FsdHNhbHQ=$" + "A" * 43 + "=",
        "pbkdf2_sha256$99999999999$c2FsdHNhbHQ=$" + "A" * 43 + "=",
        "pbkdf2_sha256$200000$not base64!$AAAA",
        "pbkdf2_sha256$200000$c2FsdHNhbHQ=$AAAA",  # digest of the wrong length
    ],
)
def test_malformed_hashes_never_verify(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_hash(bad)
    assert not verify_password("anything", bad)


def test_compare_is_constant_time_and_unknown_users_cost_a_hash(
    alice_hash: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    derived: list[int] = []
    real_compare, real_pbkdf2 = hmac.compare_digest, hashlib.pbkdf2_hmac

    def spy_compare(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real_compare(a, b)

    def spy_pbkdf2(name: str, pw: bytes, salt: bytes, n: int) -> bytes:
        derived.append(n)
        return real_pbkdf2(name, pw, salt, n)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy_compare)
    monkeypatch.setattr(auth.hashlib, "pbkdf2_hmac", spy_pbkdf2)
    users = {"alice": alice_hash}
    assert check_login(users, "alice", "correct horse battery")
    assert not check_login(users, "alice", "wrong password")
    # An unknown name still derives a key and compares digests, so it takes as long.
    assert not check_login(users, "mallory", "correct horse battery")
    assert not check_login(users, None, None)
    assert len(compared) == 4 and len(derived) >= 4
    assert all(n >= 200_000 for n in derived)


def test_users_from_env_string_and_file(
    alice_hash: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = hash_password("bob's long password", iterations=FAST)
    assert load_users(settings(admin_users=f"alice:{alice_hash}, bob:{bob}")) == {
        "alice": alice_hash,
        "bob": bob,
    }
    monkeypatch.setenv("ADVISOR_ADMIN_USERS", f"alice:{alice_hash}")
    assert load_users(settings()) == {"alice": alice_hash}  # Settings field not there yet
    monkeypatch.delenv("ADVISOR_ADMIN_USERS")

    users_file = tmp_path / "users.yaml"
    users_file.write_text(f"carol: '{bob}'\n", encoding="utf-8")
    assert load_users(settings(users_file=users_file)) == {"carol": bob}
    monkeypatch.setenv("ADVISOR_USERS_FILE", str(users_file))
    both = load_users(settings(admin_users=f"alice:{alice_hash}"))
    assert both == {"carol": bob, "alice": alice_hash}
    assert check_login(both, "carol", "bob's long password")
    monkeypatch.delenv("ADVISOR_USERS_FILE")
    assert load_users(settings()) == {}
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert load_users(settings(users_file=empty)) == {}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"admin_users": "alice"}, "entry 1: expected name:<hash>"),
        ({"admin_users": "alice:secret"}, "user 'alice': not a password hash"),
        ({"admin_users": "al ice:{h}"}, "user name 'al ice'"),
        ({"admin_users": "alice:{h},alice:{h}"}, "listed twice"),
        ({"users_file": "missing.yaml"}, "no such file"),
        ({"users_file": "list.yaml"}, "expected a mapping"),
        ({"users_file": "broken.yaml"}, "not valid YAML"),
        ({"users_file": "plain.yaml"}, "user 'dave': not a password hash"),
        ({"users_file": "ok.yaml", "admin_users": "erin:{h}"}, "defined in both"),
    ],
)
def test_malformed_users_config_is_a_clear_error(
    config: dict[str, str], message: str, alice_hash: str, tmp_path: Path
) -> None:
    (tmp_path / "list.yaml").write_text("- alice\n- bob\n", encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("alice: [unclosed\n", encoding="utf-8")
    (tmp_path / "plain.yaml").write_text("dave: hunter22\n", encoding="utf-8")
    (tmp_path / "ok.yaml").write_text(f"erin: '{alice_hash}'\n", encoding="utf-8")
    values = {
        k: (str(tmp_path / v) if k == "users_file" else v.replace("{h}", alice_hash))
        for k, v in config.items()
    }
    with pytest.raises(UsersConfigError, match=message):
        load_users(settings(**values))


def test_gradio_auth_only_when_the_chat_requires_login(alice_hash: str) -> None:
    assert gradio_auth(settings(admin_users=f"alice:{alice_hash}")) is None
    assert gradio_auth(settings(chat_requires_login=False)) is None
    with pytest.raises(UsersConfigError, match="no users are configured"):
        gradio_auth(settings(chat_requires_login=True))
    check = gradio_auth(settings(chat_requires_login=True, admin_users=f"alice:{alice_hash}"))
    assert check is not None
    assert check("alice", "correct horse battery")
    assert not check("alice", "nope")


def test_gradio_auth_reads_the_env_flag(alice_hash: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADVISOR_CHAT_REQUIRES_LOGIN", "true")
    monkeypatch.setenv("ADVISOR_ADMIN_USERS", f"alice:{alice_hash}")
    assert gradio_auth(settings()) is not None


class Clock:
    """A hand-moved clock, so hours of lockout and idle time take no test time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_locks_a_user_per_source_with_backoff() -> None:
    clock = Clock()
    throttle = auth.LoginThrottle(limit=3, window=30, max_lockout=300, clock=clock)
    for _ in range(2):
        assert throttle.failed("alice", "10.0.0.66") is None
    lockout = throttle.failed("alice", "10.0.0.66")
    assert lockout == auth.Lockout("user", 30, 3)
    assert throttle.retry_after("alice", "10.0.0.66") == 30
    # The attacker's failures do not lock alice out from her own desk.
    assert not throttle.locked("alice", "10.0.0.5")
    assert not throttle.locked("bob", "10.0.0.66")
    clock.now += 30
    assert not throttle.locked("alice", "10.0.0.66")
    delays = []
    for _ in range(5):  # each failure after a lockout doubles the next one, up to the cap
        lockout = throttle.failed("alice", "10.0.0.66")
        assert lockout is not None
        delays.append(lockout.seconds)
        clock.now += lockout.seconds
    assert delays == [60, 120, 240, 300, 300]
    throttle.succeeded("alice", "10.0.0.66")
    assert throttle.failed("alice", "10.0.0.66") is None  # a success starts the count again


def test_throttle_stops_a_spray_of_user_names_from_one_source() -> None:
    clock = Clock()
    throttle = auth.LoginThrottle(limit=5, window=30, spray_users=4, spray_window=60, clock=clock)
    for name in ("alice", "bob", "carol"):
        assert throttle.failed(name, "203.0.113.9") is None
    lockout = throttle.failed("dave", "203.0.113.9")
    assert lockout is not None and lockout.scope == "source"
    assert throttle.locked("erin", "203.0.113.9")  # every name from that address waits
    assert not throttle.locked("erin", "198.51.100.1")
    clock.now += 31
    for name in ("f1", "f2", "f3"):
        throttle.failed(name, "203.0.113.9")
    again = throttle.failed("f4", "203.0.113.9")
    assert again is not None and again.seconds == 60  # backoff for the source too
    # Names tried more than spray_window apart do not add up to a spray.
    slow = auth.LoginThrottle(spray_users=3, spray_window=60, clock=clock)
    for name in ("a", "b", "c", "d"):
        assert slow.failed(name, "192.0.2.1") is None
        clock.now += 61


def test_throttle_memory_is_bounded() -> None:
    clock = Clock()
    throttle = auth.LoginThrottle(limit=5, clock=clock, max_entries=100)
    for n in range(1000):
        throttle.failed(f"user{n}", f"10.1.{n // 250}.{n % 250}")
    assert len(throttle._pairs) <= 100 and len(throttle._names) <= 100


def test_gradio_auth_backs_off_instead_of_locking_for_good(alice_hash: str) -> None:
    check = gradio_auth(settings(chat_requires_login=True, admin_users=f"alice:{alice_hash}"))
    assert check is not None
    for _ in range(5):
        assert not check("alice", "wrong")
    assert not check("alice", "correct horse battery")  # locked for 30 s, not 300


def test_sessions_end_when_idle_or_too_old() -> None:
    clock = Clock()
    sessions = auth.AdminSessions(idle=900, max_age=8 * 3600, clock=clock)
    token = sessions.open("alice", "10.0.0.5")
    assert len(token) >= 40 and sessions.open("alice", "10.0.0.5") != token
    for _ in range(40):  # active every 14 minutes for over 8 hours
        clock.now += 14 * 60
        session, ended = sessions.check(token)
        if ended is not None:
            break
        assert session is not None and session.user == "alice"
    assert ended == "the session reached its 8 h limit"
    assert sessions.check(token) == (None, None)  # gone for good

    idle = sessions.open("bob", None)
    clock.now += 899
    assert sessions.check(idle)[1] is None
    clock.now += 900
    session, ended = sessions.check(idle)
    assert session is not None and session.user == "bob"
    assert ended == "the session was idle for 15 min"
    assert sessions.check(None) == (None, None) and sessions.check("forged") == (None, None)

    closing = sessions.open("carol", None)
    assert sessions.close(closing).user == "carol"  # type: ignore[union-attr]
    assert sessions.check(closing) == (None, None) and sessions.close(closing) is None


def test_wait_text() -> None:
    assert [auth.wait_text(s) for s in (0.2, 30, 89.5, 120, 3600)] == [
        "1 s",
        "30 s",
        "90 s",
        "2 min",
        "60 min",
    ]


def _run_hash(argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch) -> int:
    parser = cli.build_parser()
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_users_hash_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert _run_hash(["users", "hash"], "s3cret passphrase\n", monkeypatch) == 0
    printed = capsys.readouterr().out.strip()
    assert verify_password("s3cret passphrase", printed)
    assert _run_hash(["users", "hash", "--user", "alice"], "s3cret passphrase\n", monkeypatch) == 0
    line = capsys.readouterr().out.strip()
    users = load_users(settings(admin_users=line))
    assert check_login(users, "alice", "s3cret passphrase")
    with pytest.raises(UsersConfigError, match="at least 8"):
        _run_hash(["users", "hash"], "short\n", monkeypatch)
    with pytest.raises(UsersConfigError, match="user name"):
        _run_hash(["users", "hash", "--user", "a b"], "s3cret passphrase\n", monkeypatch)


def test_cli_users_hash_prompts_twice_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(["typed passphrase", "typed passphrase", "one passphrase", "another one"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    parser = cli.build_parser()
    monkeypatch.setattr("sys.stdin", Tty())
    args = parser.parse_args(["users", "hash"])
    assert args.func(args) == 0
    assert verify_password("typed passphrase", capsys.readouterr().out.strip())
    with pytest.raises(UsersConfigError, match="do not match"):
        args.func(args)


def test_cli_main_users_hash_when_wired(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    parser = cli.build_parser()
    commands = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert "users" in commands
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret passphrase\n"))
    assert cli.main(["users", "hash", "--user", "alice"]) == 0
    assert capsys.readouterr().out.startswith("alice:pbkdf2_sha256$")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["users", "hash"]) == 2
    assert "at least 8" in capsys.readouterr().err
