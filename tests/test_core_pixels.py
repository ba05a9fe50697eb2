"""mouchard.detect.pixels: Meta pixel, Google Analytics and Google Ads requests read as events."""

from __future__ import annotations

import json

from mouchard.detect.pixels import parse_request

EMAIL_SHA256 = "7f73355bf032dcbb8e5a3f51f1e4a8ba92ef1344de2d95382634cf91da6d6181"


def only(events):
    assert len(events) == 1, events
    return events[0]


def test_meta_pageview_in_the_url_with_custom_data():
    event = only(parse_request("https://www.facebook.com/tr/?id=998877665544332&ev=PageView&dl=https%3A%2F%2Fshop"
                               ".example%2F&cd[content_type]=product&eid=e1"))
    assert (event.vendor, event.tag_id, event.event, event.page_url) == (
        "meta", "998877665544332", "PageView", "https://shop.example/")
    assert event.parameters == {"content_type": "product", "event_id": "e1"}
    assert event.location == "url"


def test_meta_purchase_in_a_form_body_with_hashed_user_data():
    body = (f"id=1234&ev=Purchase&cd[value]=42.50&cd[currency]=EUR&ud[em]={EMAIL_SHA256}&udff[ph]=ab12").encode()
    event = only(parse_request("https://www.facebook.com/tr/", body, "application/x-www-form-urlencoded"))
    assert (event.event, event.location) == ("Purchase", "body")
    assert event.parameters == {"value": "42.50", "currency": "EUR"}
    assert event.user_data == {"em": EMAIL_SHA256, "ph": "ab12"}
    row = event.row(request_id=7)
    assert json.loads(row["user_data"]) == {"em": EMAIL_SHA256, "ph": "ab12"} and row["request_id"] == 7


def test_meta_multipart_body():
    body = (b'--b\r\nContent-Disposition: form-data; name="id"\r\n\r\n55\r\n'
            b'--b\r\nContent-Disposition: form-data; name="ev"\r\n\r\nLead\r\n--b--\r\n')
    event = only(parse_request("https://www.facebook.com/tr", body, "multipart/form-data; boundary=b"))
    assert (event.tag_id, event.event) == ("55", "Lead")


def test_ga4_batch_body_is_one_event_per_line():
    body = b"en=page_view&dl=https%3A%2F%2Fa.example%2F\nen=purchase&cu=EUR&epn.value=42.5&ep.transaction_id=t1"
    events = parse_request("https://region1.google-analytics.com/g/collect?v=2&tid=G-ABC123&cid=1.2", body,
                           "text/plain")
    assert [(e.tag_id, e.event) for e in events] == [("G-ABC123", "page_view"), ("G-ABC123", "purchase")]
    assert events[1].parameters == {"value": "42.5", "transaction_id": "t1", "currency": "EUR"}


def test_ga4_hit_on_doubleclick_without_event_is_remarketing():
    event = only(parse_request("https://stats.g.doubleclick.net/g/collect?v=2&tid=G-ABC123&cid=1.2&aip=1"))
    assert (event.vendor, event.event) == ("google-analytics", "remarketing")


def test_universal_analytics_hit():
    event = only(parse_request("https://www.google-analytics.com/collect?v=1&tid=UA-7654321-1&t=event&ec=video"
                               "&ea=play"))
    assert (event.tag_id, event.event, event.parameters) == ("UA-7654321-1", "event", {"ec": "video", "ea": "play"})


def test_google_ads_conversion_and_remarketing():
    conversion = only(parse_request("https://www.googleadservices.com/pagead/conversion/123456789/?label=AbC&value=42.5"
                                    "&currency_code=EUR"))
    assert (conversion.vendor, conversion.tag_id, conversion.event) == ("google-ads", "AW-123456789", "conversion")
    assert conversion.parameters == {"label": "AbC", "value": "42.5", "currency_code": "EUR"}
    remarketing = only(parse_request("https://googleads.g.doubleclick.net/pagead/viewthroughconversion/123456789/?"
                                     "random=1&url=https%3A%2F%2Fshop.example%2F"))
    assert (remarketing.event, remarketing.page_url) == ("remarketing", "https://shop.example/")
    assert only(parse_request("https://www.google.com/pagead/1p-user-list/123/?x=1")).event == "remarketing"


def test_tag_loads_name_the_account():
    assert only(parse_request("https://www.googletagmanager.com/gtag/js?id=AW-987")).vendor == "google-ads"
    assert only(parse_request("https://www.googletagmanager.com/gtm.js?id=GTM-ABCD")).vendor == "google-tag-manager"
    assert only(parse_request("https://connect.facebook.net/signals/config/998877?v=2")).tag_id == "998877"


def test_other_requests_are_not_pixels():
    for url in ("https://notfacebook.com/tr/?id=1&ev=PageView", "https://www.facebook.com/plugins/like.php?id=1",
                "https://www.google-analytics.com/analytics.js", "https://www.example.org/collect?tid=UA-1-1&t=x",
                "https://www.facebook.com/tr/", "not a url", ""):
        assert parse_request(url) == [], url
