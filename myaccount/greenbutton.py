"""Green Button "Download My Data": an ESPI (NAESB REQ.21) Atom feed built with ElementTree.

Chain: UsagePoint -> MeterReading -> ReadingType -> IntervalBlock -> IntervalReading
(NAESB REQ.21 ESPI). Values are whole Wh (``uom`` 72, ``powerOfTenMultiplier`` 0);
``timePeriod.start`` is UTC epoch seconds. Estimated readings carry ReadingQuality 8
(estimated using reference day); actual ones 0 (valid: passed the meter data validation SMT
applies). Code 19 (revenue-quality) exists only in later ESPI code lists, and consumers built
on the earlier ones (greenbutton-objects among them) reject a feed that uses it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
ET.register_namespace("", ATOM)
ET.register_namespace("espi", ESPI)

# America/Chicago: UTC-6, DST +1h from the 2nd Sunday of March to the 1st Sunday of November
# (the encoded rules used by the Green Button sample data for US Central time).
TZ_OFFSET = -6 * 3600
DST_OFFSET = 3600
DST_START_RULE = "360E2000"
DST_END_RULE = "B40E2000"

QUALITY_ESTIMATED = 8
QUALITY_ACTUAL = 0
FLOW_FORWARD = 1  # delivered to the customer
FLOW_REVERSE = 19  # received from the customer (surplus generation)


@dataclass(frozen=True)
class Reading:
    start: datetime  # aware
    seconds: int
    kwh: float
    estimated: bool = False


def _a(tag: str) -> str:
    return f"{{{ATOM}}}{tag}"


def _e(tag: str) -> str:
    return f"{{{ESPI}}}{tag}"


def _sub(parent, tag: str, text=None):
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _entry(
    feed,
    *,
    href: str,
    up: str,
    title: str,
    updated: str,
    related: Sequence[str] = (),
):
    """One Atom entry linked as the ESPI DataCustodian publishes it: ``self`` is the resource,
    ``up`` its collection, ``related`` the collections and resources it leads to (NAESB
    REQ.21 ESPI, the Green Button RESTful resource URIs)."""
    entry = _sub(feed, _a("entry"))
    _sub(entry, _a("id"), f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, href)}")
    ET.SubElement(entry, _a("link"), {"rel": "self", "href": href})
    ET.SubElement(entry, _a("link"), {"rel": "up", "href": up})
    for rel in related:
        ET.SubElement(entry, _a("link"), {"rel": "related", "href": rel})
    _sub(entry, _a("title"), title)
    content = _sub(entry, _a("content"))
    _sub(entry, _a("published"), updated)
    _sub(entry, _a("updated"), updated)
    return content


def espi_feed(
    *,
    base: str,
    title: str,
    channels: dict[str, list[Reading]],
    now: datetime | None = None,
) -> bytes:
    """The feed as UTF-8 XML bytes. ``channels`` maps "consumption"/"generation" to readings."""
    updated = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    feed = ET.Element(_a("feed"))
    _sub(feed, _a("id"), f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, base)}")
    _sub(feed, _a("title"), title)
    _sub(feed, _a("updated"), updated)

    ltp_href = f"{base}/LocalTimeParameters/1"
    content = _entry(
        feed,
        href=ltp_href,
        up=f"{base}/LocalTimeParameters",
        title="America/Chicago",
        updated=updated,
    )
    ltp = _sub(content, _e("LocalTimeParameters"))
    _sub(ltp, _e("dstEndRule"), DST_END_RULE)
    _sub(ltp, _e("dstOffset"), DST_OFFSET)
    _sub(ltp, _e("dstStartRule"), DST_START_RULE)
    _sub(ltp, _e("tzOffset"), TZ_OFFSET)

    up_href = f"{base}/UsagePoint/1"
    content = _entry(
        feed,
        href=up_href,
        up=f"{base}/UsagePoint",
        title=title,
        updated=updated,
        related=[f"{up_href}/MeterReading", ltp_href],
    )
    usage_point = _sub(content, _e("UsagePoint"))
    category = _sub(usage_point, _e("ServiceCategory"))
    _sub(category, _e("kind"), 0)  # 0 = electricity

    for n, (name, readings) in enumerate(channels.items(), start=1):
        if not readings:
            continue
        mr_href = f"{up_href}/MeterReading/{n}"
        rt_href = f"{base}/ReadingType/{n}"
        ib_href = f"{mr_href}/IntervalBlock"
        content = _entry(
            feed,
            href=mr_href,
            up=f"{up_href}/MeterReading",
            title=name.capitalize(),
            updated=updated,
            related=[ib_href, rt_href],
        )
        _sub(content, _e("MeterReading"))

        content = _entry(
            feed,
            href=rt_href,
            up=f"{base}/ReadingType",
            title=f"{name.capitalize()} (Wh)",
            updated=updated,
        )
        reading_type = _sub(content, _e("ReadingType"))
        _sub(reading_type, _e("accumulationBehaviour"), 4)  # delta data
        _sub(reading_type, _e("commodity"), 1)  # electricity, secondary metered
        _sub(reading_type, _e("currency"), 840)
        _sub(reading_type, _e("dataQualifier"), 12)  # normal
        _sub(reading_type, _e("defaultQuality"), QUALITY_ACTUAL)
        _sub(
            reading_type,
            _e("flowDirection"),
            FLOW_REVERSE if name == "generation" else FLOW_FORWARD,
        )
        _sub(reading_type, _e("intervalLength"), readings[0].seconds)
        _sub(reading_type, _e("kind"), 12)  # energy
        _sub(reading_type, _e("phase"), 769)
        _sub(reading_type, _e("powerOfTenMultiplier"), 0)
        _sub(reading_type, _e("timeAttribute"), 0)
        _sub(reading_type, _e("uom"), 72)  # Wh

        content = _entry(
            feed,
            href=f"{ib_href}/1",
            up=ib_href,
            title=f"{name.capitalize()} readings",
            updated=updated,
        )
        block = _sub(content, _e("IntervalBlock"))
        first, last = readings[0], readings[-1]
        interval = _sub(block, _e("interval"))
        _sub(interval, _e("duration"), _epoch(last.start) + last.seconds - _epoch(first.start))
        _sub(interval, _e("start"), _epoch(first.start))
        for r in readings:
            item = _sub(block, _e("IntervalReading"))
            quality = _sub(item, _e("ReadingQuality"))
            _sub(quality, _e("quality"), QUALITY_ESTIMATED if r.estimated else QUALITY_ACTUAL)
            period = _sub(item, _e("timePeriod"))
            _sub(period, _e("duration"), r.seconds)
            _sub(period, _e("start"), _epoch(r.start))
            _sub(item, _e("value"), round(r.kwh * 1000))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
