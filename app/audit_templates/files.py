"""Templates as YAML files (format: docs/template-format.md), for sharing between
partnerships. Importing always makes a draft: someone checks it before publishing.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit_templates import parts, service
from app.audit_templates.models import TemplateFamily, TemplateStatus, TemplateVersion
from app.audit_templates.schemas import FILE_FORMAT, TemplateContent, TemplateFile
from app.errors import Conflict, FieldError, InvalidInput, validation_fields

LIBRARY = Path(__file__).parent / "library"
MAX_FILE_BYTES = 1_000_000
MAX_NUMBER_CHARACTERS = 30


def library_files() -> list[Path]:
    """The templates shipped with the service, written from the partnership's own reports."""
    return sorted(LIBRARY.glob("*.yaml"))


class _Loader(yaml.CSafeLoader):
    """Safe loading that refuses a key given twice: YAML would silently keep the last,
    and a second ``questions:`` would throw away the first list of questions."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        # No number in a template needs more than a few digits, and Python refuses to
        # read one of more than 4,300 (a ValueError, which is not a YAMLError).
        if len(self.construct_scalar(node)) > MAX_NUMBER_CHARACTERS:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"a number longer than {MAX_NUMBER_CHARACTERS} characters",
                node.start_mark,
            )
        return super().construct_yaml_int(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def parse(text: str) -> TemplateFile:
    """Parse and check a template file; every problem is reported with its place."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise InvalidInput("The template file is larger than 1 MB.")
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise InvalidInput(
            "The template file is nested too deeply to be a template.",
            fields=[FieldError("file", "Nested too deeply")],
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        elif isinstance(exc, yaml.reader.ReaderError):
            # An unprintable character (often pasted from a word processor); libyaml
            # gives its place in bytes of UTF-8.
            line = text.encode()[: exc.position].count(b"\n") + 1
            where = f" at line {line}"
        else:
            where = ""
        problem = getattr(exc, "problem", None) or getattr(exc, "reason", None)
        problem = problem or "it is not valid YAML"
        raise InvalidInput(
            f"The template file could not be read{where}: {problem}.",
            fields=[FieldError("file", f"Not valid YAML{where}")],
        ) from None
    if not isinstance(data, dict):
        raise InvalidInput(
            "The template file must be a YAML mapping starting with 'format: " + FILE_FORMAT + "'.",
            fields=[FieldError("file", "Expected a mapping of keys to values")],
        )
    try:
        return TemplateFile.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            "The template file has problems.", fields=validation_fields(exc.errors())
        ) from None


def import_text(session: Session, *, text: str) -> TemplateVersion:
    """Load a file as a draft: a new template, or the next version of one with its slug."""
    content = parse(text)
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


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


def export_text(version: TemplateVersion) -> str:
    data = {"format": FILE_FORMAT, **parts.content_of(version).model_dump(mode="json")}
    if data["scale"] is None:
        del data["scale"]
    for key_area in data["key_areas"]:
        for question in key_area["questions"]:
            if not question["options"]:
                del question["options"]
    header = f"# {' '.join(version.label.split())}, exported from the case-audit service\n"
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=88)
