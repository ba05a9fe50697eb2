"""Our own rules for common consent management platforms: how to see the banner and reach reject and accept.

A rule is data. `detect` selectors say the CMP is on the page (present, visible or not), `banner` selectors that
its first layer is showing. `reject` and `accept` are the controls of the first
layer (the first visible one is clicked); when no reject control shows, `settings` opens the second layer, where
`reject_second` refuses and `save` confirms. A `reject` control visible before any click is what
`reject_first_layer` records.
`frame` restricts a rule to iframes whose URL contains it (Sourcepoint and others render the banner in one).
Playwright selectors pierce open shadow roots (Usercentrics), so no rule needs to walk them.
Selectors were written from the CMPs' public markup; the test web exercises tarteaucitron, klaro and
vanilla-cookieconsent with their real npm builds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CmpRule:
    """How to recognise one CMP and act on its banner (every field but `name` is a tuple of selectors)."""

    name: str
    detect: tuple[str, ...]
    banner: tuple[str, ...]
    reject: tuple[str, ...]
    accept: tuple[str, ...]
    settings: tuple[str, ...] = ()
    reject_second: tuple[str, ...] = ()
    save: tuple[str, ...] = ()
    cookies: tuple[str, ...] = ()  # consent cookies this CMP writes
    frame: str | None = None  # substring of the URL of the iframe holding the banner
    cmp_ids: tuple[int, ...] = ()  # IAB CMP ids, to name the CMP from a TC string


RULES: tuple[CmpRule, ...] = (
    CmpRule(
        "tarteaucitron", detect=("#tarteaucitronRoot",),
        banner=("#tarteaucitronAlertBig", "#tarteaucitron #tarteaucitronServices"),
        reject=("#tarteaucitronAllDenied2",), accept=("#tarteaucitronPersonalize2",),
        settings=("#tarteaucitronCloseAlert",), reject_second=("#tarteaucitronAllDenied",),
        cookies=("tarteaucitron",)),
    CmpRule(
        "klaro", detect=(".klaro",),
        banner=(".klaro .cookie-notice:not(.cookie-modal-notice)", ".klaro .cookie-modal"),
        reject=(".klaro .cookie-notice .cn-decline", ".klaro .cookie-modal .cm-btn-decline"),
        accept=(".klaro .cookie-notice .cm-btn-success", ".klaro .cookie-modal .cm-btn-accept-all"),
        settings=(".klaro .cookie-notice .cn-learn-more",), reject_second=(".klaro .cm-btn-decline",),
        cookies=("klaro",)),
    CmpRule(
        # v3 markup (#cc-main; [data-role=necessary] is "Reject all" on both layers), then v2 (#cc_div).
        "vanilla-cookieconsent", detect=("#cc-main", "#cc_div"),
        banner=("#cc-main .cm", "#cc-main .pm", "#cc_div #cm"),
        reject=("#cc-main .cm [data-role=necessary]", "#cc_div #c-s-bn"),
        accept=("#cc-main .cm [data-role=all]", "#cc_div #c-p-bn"),
        settings=("#cc-main .cm [data-role=show]", "#cc_div #c-s-bn"),
        reject_second=("#cc-main .pm [data-role=necessary]", "#cc_div #s-rall-bn"),
        save=("#cc-main .pm [data-role=save]", "#cc_div #s-sv-bn"),
        cookies=("cc_cookie",)),
    CmpRule(
        "onetrust", detect=("#onetrust-consent-sdk", "#onetrust-banner-sdk"),
        banner=("#onetrust-banner-sdk", "#onetrust-pc-sdk"),
        reject=("#onetrust-reject-all-handler",), accept=("#onetrust-accept-btn-handler",),
        settings=("#onetrust-pc-btn-handler",), reject_second=(".ot-pc-refuse-all-handler",),
        save=(".save-preference-btn-handler",),
        cookies=("OptanonConsent", "OptanonAlertBoxClosed", "euconsent-v2"), cmp_ids=(28,)),
    CmpRule(
        "cookiebot", detect=("#CybotCookiebotDialog", "#CookiebotWidget"),
        banner=("#CybotCookiebotDialog",),
        reject=("#CybotCookiebotDialogBodyButtonDecline", "#CybotCookiebotDialogBodyLevelButtonLevelOptinDeclineAll"),
        accept=("#CybotCookiebotDialogBodyLevelButtonLevelOptinAllowAll", "#CybotCookiebotDialogBodyButtonAccept"),
        settings=("#CybotCookiebotDialogBodyButtonDetails",),
        reject_second=("#CybotCookiebotDialogBodyLevelButtonLevelOptinDeclineAll",),
        save=("#CybotCookiebotDialogBodyLevelButtonLevelOptinAllowallSelection",),
        cookies=("CookieConsent",), cmp_ids=(134,)),
    CmpRule(
        "didomi", detect=("#didomi-host",),
        banner=("#didomi-notice", "#didomi-popup"),
        reject=("#didomi-notice-disagree-button", ".didomi-continue-without-agreeing"),
        accept=("#didomi-notice-agree-button",),
        settings=("#didomi-notice-learn-more-button",),
        reject_second=("#didomi-popup .didomi-consent-popup-actions button:first-child",),
        save=("#didomi-popup .didomi-consent-popup-actions .didomi-button-highlight",),
        cookies=("didomi_token", "euconsent-v2"), cmp_ids=(7,)),
    CmpRule(
        "quantcast", detect=("#qc-cmp2-container", ".qc-cmp2-container"),
        banner=("#qc-cmp2-ui",),
        reject=(".qc-cmp2-summary-buttons button[mode=secondary]:not(:has-text('option'))",),
        accept=(".qc-cmp2-summary-buttons button[mode=primary]",),
        settings=(".qc-cmp2-summary-buttons button[mode=secondary]:has-text('option')",),
        reject_second=(".qc-cmp2-header-links button:first-of-type",),
        save=(".qc-cmp2-footer button[mode=primary]",),
        cookies=("euconsent-v2", "addtl_consent"), cmp_ids=(10,)),
    CmpRule(
        "usercentrics", detect=("#usercentrics-root", "#usercentrics-cmp-ui"),
        banner=("[data-testid=uc-default-banner]", "#uc-center-container", "[data-testid=uc-banner-content]"),
        reject=("[data-testid=uc-deny-all-button]",), accept=("[data-testid=uc-accept-all-button]",),
        settings=("[data-testid=uc-more-button]",), reject_second=("[data-testid=uc-deny-all-button]",),
        cookies=("uc_user_interaction",), cmp_ids=(5,)),
    CmpRule(
        "sourcepoint", detect=("button.sp_choice_type_11", "button.sp_choice_type_13", "button.sp_choice_type_12"),
        banner=(".message-container", ".message"),
        reject=("button.sp_choice_type_13",), accept=("button.sp_choice_type_11",),
        settings=("button.sp_choice_type_12",), reject_second=("button.sp_choice_type_REJECT_ALL",),
        save=("button.sp_choice_type_SAVE_AND_EXIT",),
        cookies=("consentUUID", "_sp_v1_consent", "euconsent-v2"), frame="message_id=", cmp_ids=(6,)),
)

BY_NAME = {rule.name: rule for rule in RULES}
BY_CMP_ID = {cmp_id: rule.name for rule in RULES for cmp_id in rule.cmp_ids}
