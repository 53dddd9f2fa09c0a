"""Templates as YAML files (format: docs/template-format.md), for sharing between
partnerships. Importing always makes a draft: someone checks it before publishing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit_templates import parts, service
from app.audit_templates.models import TemplateFamily, TemplateStatus, TemplateVersion
from app.audit_templates.schemas import (
    FILE_FORMAT,
    TemplateContent,
    TemplateFile,
    condition_problems,
)
from app.errors import Conflict, FieldError, InvalidInput

LIBRARY = Path(__file__).parent / "library"
MAX_FILE_BYTES = 1_000_000


def library_files() -> list[Path]:
    """The templates shipped with the service, written from the partnership's own reports."""
    return sorted(LIBRARY.glob("*.yaml"))


Loc = tuple[str | int, ...]
# Where a problem is in the file a person wrote, from its place in the data: "Line 12"
# for YAML, "Questions sheet, row 5" for a spreadsheet; None when it cannot tell.
Locate = Callable[[Loc], str | None]


def _yaml() -> YAML:
    # YAML 1.2: yes, no, on and off are text, not true and false, so options such as
    # [Yes, No] are read as written. Round-trip mode keeps each key's line for errors;
    # a key given twice is an error (YAML would otherwise keep the last silently).
    reader = YAML(typ="rt", pure=True)
    reader.allow_duplicate_keys = False
    return reader


# A template is a few thousand values; aliases can make a small file stand for far
# more ("a billion laughs"), which is refused before it is copied out.
MAX_VALUES = 100_000


class _TooManyValues(Exception):
    pass


def _plain(value: Any, counted: list[int] | None = None) -> Any:
    """The loaded data as plain Python (the loader's own types carry positions), with
    a date written in a text field kept as the text it was; at most MAX_VALUES values,
    counting each alias as the copy it stands for."""
    counted = counted if counted is not None else [0]
    counted[0] += 1
    if counted[0] > MAX_VALUES:
        raise _TooManyValues
    if isinstance(value, dict):
        return {_plain(k, counted): _plain(v, counted) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, counted) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)
    return value


def _yaml_locate(root: Any) -> Locate:
    def locate(loc: Loc) -> str | None:
        node, line = root, None
        for part in loc:
            if isinstance(node, CommentedMap) and part in node:
                # A key merged in from an anchor (<<: *name) has no place of its own.
                line = node.lc.key(part)[0] if part in node.lc.data else node.lc.line
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line = node.lc.item(part)[0]
                node = node[part]
            else:
                if line is None and isinstance(node, CommentedMap | CommentedSeq):
                    line = node.lc.line
                break
        return None if line is None else f"Line {line + 1}"

    return locate


def json_schema() -> dict:
    """The format's JSON Schema (docs/template-format.schema.json), from the model the
    importer checks files with; ``audit-tools templates schema`` prints it."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **TemplateFile.model_json_schema(),
        "title": "Case-audit template file (" + FILE_FORMAT + ")",
        "description": "A template for multi-agency case audits: see docs/template-format.md.",
    }


def parse(text: str) -> TemplateFile:
    """Parse and check a template file; every problem is reported with its line."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise InvalidInput("The template file is larger than 1 MB.")
    try:
        root = _yaml().load(text)
    except RecursionError:
        raise InvalidInput(
            "The template file is nested too deeply to be a template.",
            fields=[FieldError("file", "Nested too deeply")],
        ) from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        elif isinstance(getattr(exc, "position", None), int):
            # An unprintable character (often pasted from a word processor).
            where = f" at line {text[: exc.position].count(chr(10)) + 1}"  # type: ignore[attr-defined]
        else:
            where = ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "duplicate key" in (problem or ""):
            problem = "a key is given twice in the same place; remove one of them"
        raise InvalidInput(
            f"The template file could not be read{where}: {problem}.",
            fields=[FieldError("file", f"Not valid YAML{where}: {problem}")],
        ) from None
    except Exception as exc:  # noqa: BLE001 - any other value the reader cannot make
        # Python will not read a number of more than 4,300 digits (a ValueError); a
        # date that does not exist or a tag on the wrong value fails in the reader's
        # own constructors, some without a place.
        long = re.search(r"\d{4000,}", text)
        where, problem = "", "a value could not be read (a date that does not exist, or a tag)"
        if isinstance(exc, ValueError) and long:
            line = text[: long.start()].count("\n") + 1
            column = long.start() - (text.rfind("\n", 0, long.start()) + 1) + 1
            where, problem = f" at line {line}, column {column}", "a number too long to read"
        raise InvalidInput(
            f"The template file could not be read{where}: {problem}.",
            fields=[FieldError("file", f"Not valid YAML{where}")],
        ) from None
    if not isinstance(root, dict):
        raise InvalidInput(
            "The template file must be a YAML mapping starting with 'format: " + FILE_FORMAT + "'.",
            fields=[FieldError("file", "Expected a mapping of keys to values")],
        )
    try:
        data = _plain(root)
    except _TooManyValues:
        raise InvalidInput(
            f"The template file stands for more than {MAX_VALUES:,} values once its "
            "aliases are expanded: too many to be a template.",
            fields=[FieldError("file", "Too many values")],
        ) from None
    return validate(data, _yaml_locate(root))


def validate(data: dict, locate: Locate) -> TemplateFile:
    """Check a template's data (from a YAML file or a spreadsheet) against the format:
    every problem, each with where it is (``locate``) and what to do about it."""
    try:
        content = TemplateFile.model_validate(data)
    except ValidationError as exc:
        fields = _explained(exc.errors(), data, locate)
        raise InvalidInput(f"The template file has {_count(len(fields))}.", fields=fields) from None
    problems = condition_problems(content.all_questions())
    if problems:
        raise InvalidInput(
            f"The template file has {_count(len(problems))}.",
            fields=[
                FieldError(p.field, _placed(locate(_loc_of(p.field)), p.message)) for p in problems
            ],
        )
    return content


def _count(n: int) -> str:
    return "a problem" if n == 1 else f"{n} problems"


def _placed(where: str | None, message: str) -> str:
    return f"{where}: {message}" if where else message


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _loc_of(path: str) -> Loc:
    return tuple(name or int(index) for name, index in _PATH_PART.findall(path))


def _path_of(loc: Loc) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _clean_loc(loc: Loc, data: Any) -> tuple[Loc, bool]:
    """The error's place in the data, without pydantic's names for the branches of a
    union, and whether the value is of the branch the error is about (an error about
    the "list" branch of ``evidence_boxes: true`` is not the one to show)."""
    out: list[str | int] = []
    node, fits = data, True
    for part in loc:
        inside = isinstance(node, dict) and part in node
        if inside or (isinstance(node, list) and isinstance(part, int) and part < len(node)):
            node = node[part]
        elif isinstance(part, str) and (part in _BRANCHES or part.startswith("list[")):
            kind = _BRANCHES.get(part, list)
            fits = fits and isinstance(node, kind) and not (kind is int and node is True)
            continue
        out.append(part)
    return tuple(out), fits


_BRANCHES: dict[str, type | tuple[type, ...]] = {"bool": bool, "int": int, "float": float}


def _explained(errors: list, data: dict, locate: Locate) -> list[FieldError]:
    """Each error as what to do, at its place; of a union's errors, those about the
    branch the value is (or, when it is none of them, the first)."""
    placed: dict[Loc, list[tuple[bool, str]]] = {}
    for error in errors:
        loc, fits = _clean_loc(tuple(error.get("loc", ())), data)
        placed.setdefault(loc, []).append((fits, _what_to_do(error, loc)))
    found: list[FieldError] = []
    for loc, messages in placed.items():
        shown = [m for fits, m in messages if fits] or [messages[0][1]]
        for message in dict.fromkeys(shown):
            found.append(FieldError(_path_of(loc) or "file", _placed(locate(loc), message)))
    return found


def _what_to_do(error: dict, loc: Loc) -> str:
    """pydantic's message for a person writing a template: what is wrong and what to do."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    name = str(loc[-1]) if loc else "the file"
    if kind == "missing":
        return f"Add '{name}': it is required here"
    if kind == "extra_forbidden":
        return (
            f"Remove '{name}' or correct its spelling: a template has no such key here "
            "(see docs/template-format.md)"
        )
    if kind in ("enum", "literal_error"):
        return f"Use one of {ctx.get('expected', 'the values listed in the format')}"
    if kind == "string_type":
        return "Write text here"
    if kind in ("bool_type", "bool_parsing"):
        return "Write true or false"
    if kind in ("int_type", "int_parsing", "float_type", "float_parsing", "finite_number"):
        return "Write a number"
    if kind in ("list_type",):
        return "Write a list here (each item on a line starting with '- ')"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "Write keys and values here (key: value, one per line)"
    if kind == "too_short" and isinstance(ctx.get("min_length"), int):
        n = ctx["min_length"]
        return f"Give at least {n} {'item' if n == 1 else 'items'} here"
    if kind == "too_long" and isinstance(ctx.get("max_length"), int):
        return f"Give at most {ctx['max_length']} items here"
    if kind == "string_too_short":
        return "Write something here: it must not be empty"
    if kind == "string_too_long":
        return f"Shorten this to {ctx.get('max_length')} characters or fewer"
    if kind == "string_pattern_mismatch" and name in ("key", "question"):
        return (
            "Use lower-case letters, digits and underscores, starting with a letter "
            "(for example marac_referral)"
        )
    if kind == "string_pattern_mismatch" and name == "slug":
        return "Use lower-case letters and digits joined by single hyphens"
    message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
    return message[:1].upper() + message[1:]


def import_text(session: Session, *, text: str) -> TemplateVersion:
    """Load a file as a draft: a new template, or the next version of one with its slug."""
    return import_content(session, parse(text))


def import_content(session: Session, content: TemplateFile) -> TemplateVersion:
    """A checked template (from a YAML file or a workbook, app.audit_templates.sheets)
    as a draft: a new template, or the next version of one with its slug."""
    slug = content.slug or service.slugify(content.name)
    # The slug identifies a template across partnerships; the name is the fallback.
    family = session.scalar(select(TemplateFamily).where(TemplateFamily.slug == slug))
    if family is None:
        family = session.scalar(
            select(TemplateFamily).where(func.lower(TemplateFamily.name) == content.name.lower())
        )
    plain = TemplateContent.model_validate(content.model_dump(exclude={"format"}))
    if family is None:
        return service.create_draft(session, content=plain, action="template.import")
    draft = session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.family_id == family.id, TemplateVersion.status == TemplateStatus.DRAFT
        )
    )
    if draft is not None:
        raise Conflict(
            f"'{family.name}' already has a draft (version {draft.number}). "
            "Publish or edit it before importing another version.",
            template_version_id=draft.id,
        )
    return service.create_next_version(
        session, family=family, content=plain, action="template.import"
    )


class _Dumper(yaml.SafeDumper):
    pass


# How the reader (YAML 1.2) would take a plain scalar: text PyYAML writes bare because
# YAML 1.1 reads it as text ("08", "1e3", "0o7") must be quoted to read back as text.
_RESOLVER = VersionedResolver(version=(1, 2))


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if "\n" in value:
        style: str | None = "|"
    elif _RESOLVER.resolve(ScalarNode, value, (True, False)) != "tag:yaml.org,2002:str":
        style = "'"
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


QUESTION_RULES: dict[str, object] = {
    "key": None,
    "not_applicable": None,
    "condition": None,
    "minimum": None,
    "maximum": None,
    "not_in_future": False,
    "within_audit_period": False,
}


def export_text(version: TemplateVersion) -> str:
    data = {"format": FILE_FORMAT, **parts.content_of(version).model_dump(mode="json")}
    if data["scale"] is None:
        del data["scale"]
    if data["subject"] == "child":
        del data["subject"]  # written only for an audit of agencies, as files were before
    questions = [q for k in data["key_areas"] for q in k["questions"]] + data["case_questions"]
    for question in questions:
        if not question["options"]:
            del question["options"]
        # A question's rules are written only where it has them, so a file that does
        # not use them reads as it did before they existed.
        for name, unset in QUESTION_RULES.items():
            if question[name] == unset:
                del question[name]
    if not data["case_questions"]:
        del data["case_questions"]
    header = f"# {' '.join(version.label.split())}, exported from the case-audit service\n"
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=88)
