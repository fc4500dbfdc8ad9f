"""Appointments on the operation level, on chosen days: the last place of a slot under
concurrency, double booking, slot rules, who may book and cancel, retries."""

from __future__ import annotations

import asyncio

import pytest

from models.access import load_actor
from models.errors import DomainError
from models.ops import appointments as ops
from models.rules.clock import acting_at, shanghai
from models.tables.service_points import Appointment, AppointmentSlot
from tests.service_point_world import PointWorld, build_point_world

NOW = shanghai(2026, 10, 12, 9)  # Monday 09:00
SLOT = shanghai(2026, 10, 13, 9)  # Tuesday 09:00, one of north desk's slots (capacity 2)


def booking(w: PointWorld, enterprise: str, at=SLOT, **kw) -> ops.AppointmentData:
    return ops.AppointmentData(
        service_point_id=kw.pop("point", w.north.id),
        enterprise_id=w.enterprises[enterprise].id,
        starts_at=at,
        **kw,
    )


async def book(w: PointWorld, contact: str, enterprise: str, **kw) -> Appointment:
    actor = await load_actor(w.contacts[contact].id)
    client_id = kw.pop("client_id", None)
    return await ops.book_appointment(actor, booking(w, enterprise, **kw), client_id=client_id)


async def slot_row() -> AppointmentSlot:
    return await AppointmentSlot.get()


async def test_two_enterprises_racing_for_the_last_place(db):
    w = await build_point_world()
    with acting_at(NOW):
        first = await book(w, "ent_user", "a1", procedure_id=w.licence.id, note="办理许可证变更")
        assert first.procedure_id == w.licence.id  # type: ignore[attr-defined]
        # One place left; two enterprises ask for it at the same moment.
        results = await asyncio.gather(
            book(w, "contact_a2", "a2"), book(w, "contact_c", "c"), return_exceptions=True
        )
    won = [r for r in results if isinstance(r, Appointment)]
    lost = [r for r in results if isinstance(r, DomainError)]
    assert len(won) == 1 and len(lost) == 1, results
    assert (lost[0].code, lost[0].problems[0].field) == ("SLOT_FULL", "startsAt")
    slot = await slot_row()
    assert (slot.booked, slot.capacity) == (2, 2)
    assert await Appointment.filter(status="BOOKED").count() == 2

    loser = "contact_c" if won[0].enterprise_id == w.enterprises["a2"].id else "contact_a2"  # type: ignore[attr-defined]
    loser_ent = "c" if loser == "contact_c" else "a2"
    with acting_at(NOW):
        # A cancel frees the place, and the enterprise that lost can have it.
        cancelled = await ops.cancel_appointment(
            await load_actor(w.contacts["ent_user"].id), first.id, "时间冲突"
        )
        assert cancelled.status == "CANCELLED" and cancelled.note.endswith("取消原因：时间冲突")
        assert (await slot_row()).booked == 1
        await book(w, loser, loser_ent)
    assert (await slot_row()).booked == 2


async def test_one_enterprise_holds_one_place_per_slot(db):
    w = await build_point_world()
    with acting_at(NOW):
        await book(w, "ent_user", "a1")
        with pytest.raises(DomainError) as err:
            await book(w, "ent_user", "a1")
        assert err.value.code == "ALREADY_BOOKED"
        # Two taps at once from two phones of the same enterprise: still one place.
        second = await book(w, "contact_a2", "a2", at=shanghai(2026, 10, 13, 10))
        results = await asyncio.gather(
            book(w, "contact_a2", "a2", at=shanghai(2026, 10, 13, 11)),
            book(w, "contact_a2", "a2", at=shanghai(2026, 10, 13, 11)),
            return_exceptions=True,
        )
    codes = sorted(r.code if isinstance(r, DomainError) else "OK" for r in results)
    assert codes == ["ALREADY_BOOKED", "OK"]
    assert second.status == "BOOKED"
    assert await Appointment.filter(enterprise_id=w.enterprises["a2"].id).count() == 2
    booked = {s.starts_at.hour: s.booked for s in await AppointmentSlot.all()}
    assert booked == {1: 1, 2: 1, 3: 1}  # 09:00, 10:00, 11:00 Shanghai in UTC


async def test_slot_rules(db):
    w = await build_point_world()
    cases = [
        (shanghai(2026, 10, 13, 9, 10), "INVALID_SLOT"),  # not a slot start
        (shanghai(2026, 10, 13, 12, 0), "INVALID_SLOT"),  # lunch break
        (shanghai(2026, 10, 12, 8, 30), "SLOT_IN_PAST"),
        (shanghai(2026, 11, 12, 9, 0), "SLOT_TOO_FAR"),
    ]
    with acting_at(NOW):
        for at, code in cases:
            with pytest.raises(DomainError) as err:
                await book(w, "ent_user", "a1", at=at)
            assert (err.value.code, err.value.problems[0].field) == (code, "startsAt"), at
    with acting_at(shanghai(2026, 9, 28, 9)):
        with pytest.raises(DomainError) as err:  # National Day: no slots at all
            await book(w, "ent_user", "a1", at=shanghai(2026, 10, 1, 9))
        assert err.value.code == "INVALID_SLOT"
        # The make-up Saturday (调休) has Monday's slots.
        made = await book(w, "ent_user", "a1", at=shanghai(2026, 10, 10, 8, 30))
    assert made.ends_at == shanghai(2026, 10, 10, 9, 0)
    assert await AppointmentSlot.all().count() == 1


async def test_who_may_book(db):
    w = await build_point_world()
    with acting_at(NOW):
        with pytest.raises(DomainError) as err:  # a contact of another enterprise
            await book(w, "contact_c", "a1")
        assert (err.value.code, err.value.problems[0].field) == ("NOT_FOUND", "enterpriseId")
        agent = await load_actor(w.agent_north.id)
        with pytest.raises(DomainError) as err:  # staff do not book for enterprises
            await ops.book_appointment(agent, booking(w, "a1"))
        assert err.value.code == "FORBIDDEN"
        with pytest.raises(DomainError) as err:  # a procedure of another point
            await book(w, "ent_user", "a1", procedure_id=w.licence.id, point=w.east.id)
        assert (err.value.code, err.value.problems[0].field) == ("NOT_FOUND", "procedureId")
        admin = await load_actor(w.base.admin.id)
        from models.ops import service_points as sp_ops

        await sp_ops.update_service_point(
            admin, w.north.id, sp_ops.ServicePointData(is_active=False)
        )
        with pytest.raises(DomainError) as err:  # a withdrawn point
            await book(w, "ent_user", "a1")
        assert (err.value.code, err.value.problems[0].field) == ("NOT_FOUND", "servicePointId")


async def test_a_retry_with_the_same_client_id_books_once(db):
    w = await build_point_world()
    with acting_at(NOW):
        first = await book(w, "ent_user", "a1", client_id="tap-1")
        again = await book(w, "ent_user", "a1", client_id="tap-1")
        assert again.id == first.id
        with pytest.raises(DomainError) as err:
            await book(w, "ent_user", "a1", client_id="tap-1", at=shanghai(2026, 10, 13, 10))
        assert err.value.code == "CLIENT_ID_REUSED"
        contact = await load_actor(w.contacts["ent_user"].id)
        c1 = await ops.cancel_appointment(contact, first.id, client_id="cancel-1")
        c2 = await ops.cancel_appointment(contact, first.id, client_id="cancel-1")
        assert c1.id == c2.id and c2.status == "CANCELLED"
    assert (await slot_row()).booked == 0


async def test_who_may_cancel_and_when(db):
    w = await build_point_world()
    with acting_at(NOW):
        appt = await book(w, "ent_user", "a1")
        other_agent = await load_actor(w.agent_east.id)
        with pytest.raises(DomainError) as err:
            await ops.cancel_appointment(other_agent, appt.id)
        assert err.value.code == "NOT_FOUND"
        with pytest.raises(DomainError) as err:  # a contact of another enterprise
            await ops.cancel_appointment(await load_actor(w.contacts["contact_c"].id), appt.id)
        assert err.value.code == "NOT_FOUND"
        with pytest.raises(DomainError) as err:  # the county admin reads it, cannot cancel it
            await ops.cancel_appointment(await load_actor(w.base.admin.id), appt.id)
        assert err.value.code == "FORBIDDEN"
    with acting_at(shanghai(2026, 10, 13, 9, 5)):
        with pytest.raises(DomainError) as err:
            await ops.cancel_appointment(await load_actor(w.agent_north.id), appt.id)
        assert err.value.code == "APPOINTMENT_STARTED"
    with acting_at(NOW):
        done = await ops.cancel_appointment(await load_actor(w.agent_north.id), appt.id, "临时停电")
        assert done.status == "CANCELLED"
        with pytest.raises(DomainError) as err:
            await ops.cancel_appointment(await load_actor(w.agent_north.id), appt.id)
        assert err.value.code == "APPOINTMENT_NOT_BOOKED"
    assert (await slot_row()).booked == 0


async def test_slots_show_places_taken(db):
    w = await build_point_world()
    with acting_at(NOW):
        await book(w, "ent_user", "a1")
    slots = await ops.appointment_slots(
        await load_actor(w.contacts["contact_c"].id), w.north.id, SLOT.date()
    )
    nine = next(s for s in slots if s.starts_at == SLOT)
    assert (nine.capacity, nine.booked, nine.available) == (2, 1, 1)
    assert all(s.booked == 0 for s in slots if s.starts_at != SLOT)
    assert len(slots) == 15
