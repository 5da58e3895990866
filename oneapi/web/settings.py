"""The settings pages (`/setting`): the personal tab for everyone; operation, system and other for root.

Each option group of a root tab is its own form (`POST /setting/option/<group>`), saved at once by
`services.settings.save_group`; with htmx the saved group (or its errors, with 422) replaces itself in
place. Secrets are write-only: the page says whether one is set and never carries its value.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, request, url_for
from markupsafe import Markup

from oneapi.api.ratelimit import critical_limit
from oneapi.errors import OneAPIError
from oneapi.models import Role
from oneapi.services import accounts, settings, users, verification
from oneapi.sessions import sign_out
from oneapi.web.access import root_page, user_page
from oneapi.web.forms import FormInput, field_errors
from oneapi.web.htmx import redirect_to, render, wants_fragment
from oneapi.web.i18n import _
from oneapi.web.markup import root_markup
from oneapi.web.templating import server_address

bp = Blueprint("settings", __name__)

TAB_PATH = "/setting/<any(operation, system, other):tab>"


@bp.get("/setting")
@user_page
def index():
    return _personal()


@bp.get(TAB_PATH)
@root_page
def tab(tab: str):
    return _options_page(tab)


@bp.post("/setting/access-token")
@user_page
def access_token():
    # Shown once, in the answer to this POST: it is not kept anywhere the page could show it again.
    return _personal("access_token", new_token=users.regenerate_access_token(g.user))


@bp.post("/setting/invite")
@user_page
def invite():
    users.affiliate_code(g.user)
    return _personal("invite")


@bp.post("/setting/email")
@critical_limit
@user_page
def bind_email():
    """Two steps in one form: mail a code to the address, then bind the address with that code."""
    form = FormInput()
    email = form.str("email", max_len=50)
    try:
        if form.str("step", max_len=8) == "code":
            verification.send_verification_code(email)
            flash(_("A verification code was sent to %(email)s.", email=email), "success")
        else:
            accounts.bind_email(g.user, email, form.str("email_code", max_len=16))
            flash(_("Your email address is now %(email)s.", email=email), "success")
            email = ""
    except OneAPIError as exc:
        return _personal("bindings", status=422, errors=field_errors(exc), email=email)
    return _personal("bindings", email=email)


@bp.post("/setting/delete-account")
@user_page
def delete_account():
    typed = FormInput().str("confirm_username", max_len=191)
    if typed != g.user.username:
        errors = {"confirm_username": _("Type your username exactly as shown to confirm.")}
        return _personal("delete_account", status=422, errors=errors, typed=typed)
    try:
        users.delete_self(g.user)
    except OneAPIError as exc:
        return _personal("delete_account", status=403, errors=field_errors(exc), typed=typed)
    sign_out()
    flash(_("Your account has been deleted."), "success")
    return redirect_to("/")


@bp.post("/setting/sign-out-everywhere")
@user_page
def sign_out_everywhere():
    """End every session of the user, this browser's included: for a lost laptop or a shared computer."""
    accounts.sign_out_everywhere(g.user)
    sign_out()
    flash(_("You are signed out in every browser. Log in again to continue."), "success")
    return redirect_to(url_for("auth.login"))


@bp.post("/setting/option/<name>")
@root_page
def save(name: str):
    grp = settings.group(name)
    form = FormInput()
    try:
        changed = settings.save_group(name, request.form.to_dict(), confirmed=form.bool("confirm"))
    except OneAPIError as exc:
        errors = field_errors(exc)
        if not errors.keys() <= set(grp.keys):
            errors = {"": exc.text()}  # about an option of another group: shown above this form
        return _group_answer(grp, 422, errors, {**settings.shown_values(grp), **_typed(grp)})
    _flash_saved(changed)
    if wants_fragment():
        return _group_answer(grp, 200, {}, settings.shown_values(grp))
    return redirect_to(f"/setting/{grp.tab}#group-{grp.name}")


@bp.post("/setting/logs/clear")
@root_page
def clear_logs():
    before = FormInput().str("before", max_len=40)
    try:
        deleted = settings.clear_logs_before(before)
    except OneAPIError as exc:
        return _group_answer(settings.group("logs"), 422, field_errors(exc), None, before=before)
    _flash(_("%(n)s log entries older than %(date)s were deleted.", n=deleted, date=before.replace("T", " ")))
    return redirect_to("/setting/operation#group-logs")


@bp.post("/setting/preview")
@root_page
def preview():
    """Markdown or HTML written by root, rendered as the public pages will show it (changes nothing)."""
    key = request.args.get("key", "")
    if settings.kind(key) != "textarea":
        abort(400)
    return Markup('<div class="card markdown preview">%s</div>') % root_markup(request.form.get(key, ""))


def _personal(block: str = "settings", status: int = 200, **extra: object):
    context = {"errors": {}, "typed": "", "new_token": "", "email": "", **extra}
    invite_link = f"{server_address()}/register?aff={g.user.aff_code}" if g.user.aff_code else ""
    return render("settings/personal.html", block, status=status, tab="personal", tabs=_tabs(),
                  invite_link=invite_link, **context)


def _options_page(tab: str, status: int = 200, failed: str = "", errors: dict | None = None,
                  typed: dict | None = None, before: str = ""):
    groups = [_group_context(grp, errors if grp.name == failed else {},
                             typed if grp.name == failed else None) for grp in settings.groups_of(tab)]
    return render("settings/options.html", "settings", status=status, tab=tab, tabs=_tabs(), groups=groups,
                  before=before, **_wording())


def _group_answer(grp: settings.Group, status: int, errors: dict, values: dict | None, before: str = ""):
    """The group's card alone for htmx; otherwise its whole tab, this group showing `errors`."""
    if not wants_fragment():
        return _options_page(grp.tab, status, grp.name, errors, values, before)
    return render("settings/_group.html", "group", status=status, tab=grp.tab, before=before,
                  **_group_context(grp, errors, values), **_wording())


def _group_context(grp: settings.Group, errors: dict, values: dict | None) -> dict[str, object]:
    return {"group": grp, "errors": errors, "values": values or settings.shown_values(grp),
            "kinds": {key: settings.kind(key) for key in grp.keys}, "secrets": settings.secrets_set(grp),
            "choices": settings.SELECT_CHOICES}


def _typed(grp: settings.Group) -> dict[str, str]:
    """What root sent in the refused form, so a JSON typo is fixed instead of retyped (never a secret).
    Switches keep their posted state: the password-login confirmation re-sends the form as it was."""
    form = FormInput()
    typed = {key: "true" if form.bool(key) else "false" for key in grp.keys if settings.kind(key) == "bool"}
    typed.update({key: request.form[key] for key in grp.keys
                  if settings.kind(key) not in ("secret", "bool") and key in request.form})
    return typed


def _flash_saved(changed: list[str]) -> None:
    _flash(_("Settings saved.") if changed else _("Nothing changed."))


def _flash(message: str) -> None:
    flash(message, "success")


def _tabs() -> list[tuple[str, str, str]]:
    """(tab, path, label) of the tabs the caller may open."""
    tabs = [("personal", "/setting", _("Personal"))]
    if g.user.role >= Role.ROOT:
        tabs += [("operation", "/setting/operation", _("Operation")), ("system", "/setting/system", _("System")),
                 ("other", "/setting/other", _("Other"))]
    return tabs


def _wording() -> dict[str, object]:
    address = server_address()
    return {"labels": _labels(), "hints": _hints(), "titles": _titles(), "notes": _notes(address)}


def _titles() -> dict[str, str]:
    return {
        "quota": _("Quota"), "ratios": _("Ratios"), "logs": _("Logs"), "monitoring": _("Monitoring"),
        "general": _("General"), "server": _("Server"), "login": _("Sign-in and registration"),
        "email_domains": _("Email domain whitelist"), "smtp": _("SMTP email"), "github": _("GitHub OAuth"),
        "lark": _("Lark OAuth"), "oidc": _("OIDC"), "wechat": _("WeChat server"), "turnstile": _("Turnstile"),
        "message_pusher": _("Message pusher"), "notice": _("Notice"), "branding": _("Name, logo and theme"),
        "home": _("Home page"), "about": _("About page"), "footer": _("Footer"),
    }


def _notes(address: str) -> dict[str, str]:
    return {
        "github": _("Homepage URL: %(home)s · Authorization callback URL: %(url)s", home=address,
                    url=f"{address}/oauth/github"),
        "lark": _("Redirect URL: %(url)s", url=f"{address}/oauth/lark"),
        "oidc": _("Redirect URL: %(url)s", url=f"{address}/oauth/oidc"),
        "wechat": _("Sign-in through a separately deployed WeChat server."),
        "turnstile": _("Keys from Cloudflare's Turnstile dashboard."),
        "message_pusher": _("Where system messages are pushed (the address of a Message Pusher server)."),
    }


def _labels() -> dict[str, str]:
    return {
        "QuotaForNewUser": _("Quota for new users"), "PreConsumedQuota": _("Pre-consumed quota"),
        "QuotaForInviter": _("Quota for the inviter"), "QuotaForInvitee": _("Quota for the invitee"),
        "ModelRatio": _("Model ratio"), "CompletionRatio": _("Completion ratio"), "GroupRatio": _("Group ratio"),
        "LogConsumeEnabled": _("Record usage logs"),
        "ChannelDisableThreshold": _("Longest response time (seconds)"),
        "QuotaRemindThreshold": _("Quota reminder threshold"),
        "AutomaticDisableChannelEnabled": _("Disable a channel when it fails"),
        "AutomaticEnableChannelEnabled": _("Enable a channel again when its test succeeds"),
        "TopUpLink": _("Top-up link"), "ChatLink": _("Chat link"), "QuotaPerUnit": _("Quota per US dollar"),
        "RetryTimes": _("Retry times"), "DisplayInCurrencyEnabled": _("Show quota in US dollars"),
        "DisplayTokenStatEnabled": _("Billing endpoints show token figures instead of user figures"),
        "ApproximateTokenEnabled": _("Approximate token counts (faster)"),
        "ServerAddress": _("Server address"),
        "PasswordLoginEnabled": _("Allow password login"), "PasswordRegisterEnabled": _("Allow password registration"),
        "EmailVerificationEnabled": _("Require email verification to register"),
        "GitHubOAuthEnabled": _("Allow GitHub login and registration"),
        "WeChatAuthEnabled": _("Allow WeChat login and registration"),
        "RegisterEnabled": _("Allow new users to register"), "TurnstileCheckEnabled": _("Turnstile check"),
        "EmailDomainRestrictionEnabled": _("Allow only the email domains below"),
        "EmailDomainWhitelist": _("Allowed email domains"),
        "SMTPServer": _("SMTP server"), "SMTPPort": _("SMTP port"), "SMTPAccount": _("SMTP account"),
        "SMTPFrom": _("Sender address"), "SMTPToken": _("SMTP password or token"),
        "GitHubClientId": _("GitHub client ID"), "GitHubClientSecret": _("GitHub client secret"),
        "LarkClientId": _("Lark app ID"), "LarkClientSecret": _("Lark app secret"),
        "OidcEnabled": _("Allow OIDC login"), "OidcClientId": _("Client ID"), "OidcClientSecret": _("Client secret"),
        "OidcWellKnown": _("Well-known configuration URL"), "OidcAuthorizationEndpoint": _("Authorization endpoint"),
        "OidcTokenEndpoint": _("Token endpoint"), "OidcUserinfoEndpoint": _("Userinfo endpoint"),
        "WeChatServerAddress": _("WeChat server address"), "WeChatServerToken": _("WeChat server access token"),
        "WeChatAccountQRCodeImageURL": _("WeChat account QR code image URL"),
        "TurnstileSiteKey": _("Turnstile site key"), "TurnstileSecretKey": _("Turnstile secret key"),
        "MessagePusherAddress": _("Message pusher address"), "MessagePusherToken": _("Message pusher access token"),
        "Notice": _("Notice"), "SystemName": _("System name"), "Logo": _("Logo URL"), "Theme": _("Theme"),
        "HomePageContent": _("Home page content"), "About": _("About"), "Footer": _("Footer"),
    }


def _hints() -> dict[str, str]:
    markup = _("Markdown or HTML; an address starting with https:// is shown in a frame.")
    return {
        "QuotaForNewUser": _("Given to every new account."),
        "PreConsumedQuota": _("Held back when a request starts and settled when it ends."),
        "QuotaForInviter": _("Given to the inviter when someone registers with their link."),
        "QuotaForInvitee": _("Given to a user who registers with an invite link."),
        "ModelRatio": _("A JSON object: model name → ratio. 1 means $0.002 per 1K tokens."),
        "CompletionRatio": _("A JSON object: model name → price of completion tokens relative to prompt tokens."),
        "GroupRatio": _("A JSON object: user group → ratio; its keys are the groups you can give users."),
        "ChannelDisableThreshold": _("A channel test slower than this disables the channel, when that is on."),
        "QuotaRemindThreshold": _("Users get an email when their quota falls below this."),
        "TopUpLink": _("Where users buy redemption codes; opened with username, user_id and transaction_id."),
        "ChatLink": _("A chat web app for the Chat page and the token chat links."),
        "QuotaPerUnit": _("How much quota one US dollar buys."),
        "RetryTimes": _("How many other channels to try when a request fails."),
        "ServerAddress": _("The public address of this site, e.g. https://api.example.com; used in links and emails."),
        "EmailDomainWhitelist": _("One domain a line (or separated by commas), e.g. gmail.com."),
        "SMTPFrom": _("Leave empty to send from the account."),
        "OidcWellKnown": _("The provider's /.well-known/openid-configuration address."),
        "Notice": _("Shown once to every visitor after each change. Markdown or HTML."),
        "Logo": _("An image address; the site icon too."),
        "Theme": _("Takes effect after a restart."),
        "HomePageContent": markup, "About": markup,
        "Footer": _("Markdown or HTML; replaces the default footer."),
    }
