"""The service log carries our own INFO lines and third-party WARNING and above: a real notice
rendered by a real `renewals worker` leaves no WeasyPrint or fontTools chatter behind."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from renewals.api.app import create_app
from renewals.domain.notices import Renderer
from renewals.domain.notices.samples import SAMPLE_LOGO, sample_context
from renewals.settings import Settings
from tests.integration.conftest import Api
from tests.integration.jobs_support import WorkerProcess, wait_until
from tests.integration.test_notices import arrange, request

# `logs.FORMAT`: time, level, logger name, message.
LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) (?P<name>[\w.]+): ", re.MULTILINE)


def test_a_real_render_leaves_only_our_own_info_lines_in_the_worker_log(
    api: Api, session: Session, start_worker: Callable[..., WorkerProcess]
) -> None:
    book = arrange(session)
    worker = start_worker(threads=1)

    accepted = request(api, book.am, kind="renewal_notice", contract_id=book.contract.id, as_of="2026-03-16")
    ready = wait_until(
        lambda: (
            (n := api.get(f"/api/v1/notices/{accepted['id']}", book.am).json())["status"] in {"ready", "failed"} and n
        ),
        120,
    )
    assert ready["status"] == "ready", ready["error"]
    wait_until(lambda: f"notice {accepted['id']} rendered" in worker.output(), 30)

    output = worker.output()
    lines = [(m["level"], m["name"]) for m in LINE.finditer(output)]
    assert ("INFO", "renewals.jobs.notices") in lines
    chatty = [(level, name) for level, name in lines if level in {"DEBUG", "INFO"} and not name.startswith("renewals")]
    assert chatty == []
    assert "weasyprint" not in output.lower()
    assert "fonttools" not in output.lower()


def test_weasyprint_does_talk_at_info_which_is_why_the_levels_matter(
    caplog: pytest.LogCaptureFixture, tmp_path_factory: pytest.TempPathFactory
) -> None:
    renderer = Renderer(allowed_files=[SAMPLE_LOGO], font_cache_dir=tmp_path_factory.mktemp("fonts"))
    with caplog.at_level(logging.INFO, logger="weasyprint"), caplog.at_level(logging.INFO, logger="fontTools"):
        renderer.render("payment_reminder", "ko", sample_context("payment_reminder", "ko"))
    assert any(r.name.startswith(("weasyprint", "fontTools")) and r.levelno == logging.INFO for r in caplog.records)


def test_the_api_process_logs_our_info_and_only_warnings_from_others(settings: Settings, engine) -> None:
    create_app(settings, engine)
    assert logging.getLogger("renewals.api").getEffectiveLevel() == logging.INFO
    for name in ("weasyprint", "weasyprint.progress", "fontTools.subset", "httpx", "sqlalchemy.engine"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING, name
