"""Each route's required permission, by route name: the table the permission tests
walk. A route missing here is refused to everyone (and fails the tests)."""

from __future__ import annotations

import logging

from starlette.requests import Request

from app.access.policy import Forbidden
from app.access.policy import Permission as P

log = logging.getLogger(__name__)

ROUTE_RULES: dict[str, P] = {
    "home": P.PUBLIC,
    # pages
    "pages.sign_in": P.PUBLIC,
    "pages.sign_in_submit": P.PUBLIC,
    "pages.code": P.PUBLIC,
    "pages.code_submit": P.PUBLIC,
    "pages.set_up": P.PUBLIC,
    "pages.set_up_submit": P.PUBLIC,
    "pages.sign_out": P.SIGNED_IN,
    "pages.my_work": P.RETURN_EDIT,
    "pages.agencies": P.REFERENCE_MANAGE,
    "pages.agency_new": P.REFERENCE_MANAGE,
    "pages.agency_create": P.REFERENCE_MANAGE,
    "pages.agency_deactivate": P.REFERENCE_MANAGE,
    "pages.audits": P.AUDIT_READ,
    "pages.audit": P.AUDIT_READ,
    "pages.return": P.RETURN_READ,
    "pages.key_area": P.RETURN_READ,
    "pages.overall": P.RETURN_READ,
    "pages.check": P.RETURN_READ,
    "pages.submitted": P.RETURN_READ,
    "pages.key_area_save": P.RETURN_EDIT,
    "pages.overall_save": P.RETURN_EDIT,
    "pages.submit": P.RETURN_EDIT,
    # pages: users (admin)
    "pages.users": P.USER_MANAGE,
    "pages.user_new": P.USER_MANAGE,
    "pages.user_create": P.USER_MANAGE,
    "pages.user": P.USER_MANAGE,
    "pages.user_update": P.USER_MANAGE,
    "pages.user_disable": P.USER_MANAGE,
    "pages.user_reset_second_factor": P.USER_MANAGE,
    # pages: template builder (admin)
    "pages.templates": P.TEMPLATE_MANAGE,
    "pages.template_new": P.TEMPLATE_MANAGE,
    "pages.template_create": P.TEMPLATE_MANAGE,
    "pages.template_version": P.TEMPLATE_MANAGE,
    "pages.template_details": P.TEMPLATE_MANAGE,
    "pages.template_details_save": P.TEMPLATE_MANAGE,
    "pages.template_scale": P.TEMPLATE_MANAGE,
    "pages.template_scale_save": P.TEMPLATE_MANAGE,
    "pages.template_key_area_new": P.TEMPLATE_MANAGE,
    "pages.template_key_area_create": P.TEMPLATE_MANAGE,
    "pages.template_key_area_edit": P.TEMPLATE_MANAGE,
    "pages.template_key_area_save": P.TEMPLATE_MANAGE,
    "pages.template_key_area_delete": P.TEMPLATE_MANAGE,
    "pages.template_question_new": P.TEMPLATE_MANAGE,
    "pages.template_question_create": P.TEMPLATE_MANAGE,
    "pages.template_question_edit": P.TEMPLATE_MANAGE,
    "pages.template_question_save": P.TEMPLATE_MANAGE,
    "pages.template_question_delete": P.TEMPLATE_MANAGE,
    "pages.template_preview": P.TEMPLATE_MANAGE,
    "pages.template_preview_area": P.TEMPLATE_MANAGE,
    "pages.template_publish": P.TEMPLATE_MANAGE,
    "pages.template_retire": P.TEMPLATE_MANAGE,
    "pages.template_new_version": P.TEMPLATE_MANAGE,
    # pages: audit planning (admin)
    "pages.audit_new": P.AUDIT_MANAGE,
    "pages.audit_create": P.AUDIT_MANAGE,
    "pages.audit_plan": P.AUDIT_MANAGE,
    "pages.audit_details": P.AUDIT_MANAGE,
    "pages.audit_agencies": P.AUDIT_MANAGE,
    "pages.child_add": P.AUDIT_MANAGE,
    "pages.child_remove": P.AUDIT_MANAGE,
    "pages.involvement_add": P.AUDIT_MANAGE,
    "pages.involvement_remove": P.AUDIT_MANAGE,
    "pages.audit_open": P.AUDIT_MANAGE,
    "health": P.PUBLIC,
    # agencies and subgroups
    "agencies.list": P.REFERENCE_READ,
    "agencies.get": P.REFERENCE_READ,
    "agencies.create": P.REFERENCE_MANAGE,
    "agencies.update": P.REFERENCE_MANAGE,
    "agencies.deactivate": P.REFERENCE_MANAGE,
    "subgroups.list": P.REFERENCE_READ,
    "subgroups.get": P.REFERENCE_READ,
    "subgroups.create": P.REFERENCE_MANAGE,
    "subgroups.update": P.REFERENCE_MANAGE,
    "subgroups.deactivate": P.REFERENCE_MANAGE,
    # templates
    "templates.list": P.TEMPLATE_READ,
    "templates.get": P.TEMPLATE_READ,
    "templates.versions": P.TEMPLATE_READ,
    "template_versions.get": P.TEMPLATE_READ,
    "template_versions.export": P.TEMPLATE_READ,
    "templates.create": P.TEMPLATE_MANAGE,
    "templates.import": P.TEMPLATE_MANAGE,
    "template_versions.update": P.TEMPLATE_MANAGE,
    "template_versions.scale": P.TEMPLATE_MANAGE,
    "template_versions.publish": P.TEMPLATE_MANAGE,
    "template_versions.retire": P.TEMPLATE_MANAGE,
    "template_versions.new_version": P.TEMPLATE_MANAGE,
    "key_areas.create": P.TEMPLATE_MANAGE,
    "key_areas.update": P.TEMPLATE_MANAGE,
    "key_areas.delete": P.TEMPLATE_MANAGE,
    "questions.create": P.TEMPLATE_MANAGE,
    "questions.update": P.TEMPLATE_MANAGE,
    "questions.delete": P.TEMPLATE_MANAGE,
    # audits and cohorts
    "audits.list": P.AUDIT_READ,
    "audits.get": P.AUDIT_READ,
    "audits.progress": P.AUDIT_READ,
    "children.list": P.AUDIT_READ,
    "audits.create": P.AUDIT_MANAGE,
    "audits.update": P.AUDIT_MANAGE,
    "audits.agencies": P.AUDIT_MANAGE,
    "audits.open": P.AUDIT_MANAGE,
    "children.create": P.AUDIT_MANAGE,
    "children.update": P.AUDIT_MANAGE,
    "children.delete": P.AUDIT_MANAGE,
    "involvements.create": P.AUDIT_MANAGE,
    "involvements.delete": P.AUDIT_MANAGE,
    # returns
    "returns.list": P.RETURN_READ,
    "returns.get": P.RETURN_READ,
    "returns.save_draft": P.RETURN_EDIT,
    "returns.submit": P.RETURN_EDIT,
    "returns.reopen": P.RETURN_REOPEN,
    # the audit log: admins and scrutineers
    "audit_log.list": P.AUDIT_LOG_READ,
    "audit_log.csv": P.AUDIT_LOG_READ,
    # signing in: the second-factor steps find their pending session from the cookie
    "auth.sign_in": P.PUBLIC,
    "auth.second_factor": P.PUBLIC,
    "auth.enrol": P.PUBLIC,
    "auth.sign_out": P.SIGNED_IN,
    "auth.me": P.SIGNED_IN,
    "auth.sessions": P.SIGNED_IN,
    "auth.end_session": P.SIGNED_IN,
    "auth.tokens": P.SIGNED_IN,
    "auth.create_token": P.SIGNED_IN,
    "auth.revoke_token": P.SIGNED_IN,
    # users
    "users.list": P.USER_MANAGE,
    "users.create": P.USER_MANAGE,
    "users.get": P.USER_MANAGE,
    "users.update": P.USER_MANAGE,
    "users.disable": P.USER_MANAGE,
    "users.reset_password": P.USER_MANAGE,
    "users.reset_second_factor": P.USER_MANAGE,
}


def rule_for(request: Request) -> P:
    route = request.scope.get("route")
    name = getattr(route, "name", None)
    rule = ROUTE_RULES.get(name)
    if rule is None:
        # Fail closed: a route nobody wrote a rule for is refused to everyone.
        log.error("route %r has no access rule", name)
        raise Forbidden("This part of the service has no access rule yet.")
    return rule
