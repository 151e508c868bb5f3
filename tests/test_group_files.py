"""What messages of working groups keep, through the real pages: their
attachments' files, which the toolbox and other messages may share (files
are stored by content), and mentions whose ids the database cannot hold.
"""

import io

import pytest
from sqlalchemy import select

from extranet.extensions import db
from extranet.groups.models import MessageAttachment

from . import files as make
from .group_helpers import message_ids
from .test_threads import age_files, new_thread, stored_files, thread_id_from
from .test_toolbox import document_id_from, publish

# The make_group fixture.
pytest_plugins = ["tests.group_fixtures"]


def attachment_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(MessageAttachment.id).order_by(MessageAttachment.id)))


def reply_with(client, thread_id, body, files):
    response = client.post(f"/groups/threads/{thread_id}/reply", data={"body": body, "attachments": list(files)},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]


# --- Attachments' files -----------------------------------------------------------------------


def test_clean_files_keeps_the_files_of_attachments(app, client, as_, runner, make_group):
    me = as_("member")
    group = make_group(members=[me])
    content = make.pdf("compte rendu de la réunion")
    thread_id_from(new_thread(client, group, files=[(io.BytesIO(content), "Compte rendu.pdf")]))
    [attachment_id] = attachment_ids(app)
    age_files(app, hours=2)  # long past the hour an upload in progress is given

    result = runner.invoke(args=["toolbox", "clean-files"])
    assert result.exit_code == 0, result.output
    assert "0 unreferenced file(s)." in result.output
    response = client.get(f"/groups/attachments/{attachment_id}")
    assert response.status_code == 200 and response.data == content


def test_deleting_a_document_keeps_a_file_a_message_attaches(app, client, as_, make_group):
    me = as_("member")
    group = make_group(members=[me])
    content = make.pdf("un guide aussi envoyé dans un fil")
    document_id = document_id_from(publish(client, app, content, name="Guide.pdf", title="Guide partagé"))
    thread_id_from(new_thread(client, group, files=[(io.BytesIO(content), "Le guide.pdf")]))
    [attachment_id] = attachment_ids(app)
    age_files(app, hours=2)

    assert client.post(f"/toolbox/{document_id}/delete").status_code == 302
    assert client.get(f"/toolbox/{document_id}").status_code == 404
    assert [path.read_bytes() for path in stored_files(app)] == [content]
    response = client.get(f"/groups/attachments/{attachment_id}")
    assert response.status_code == 200 and response.data == content


def test_deleting_one_of_two_messages_keeps_the_file_the_other_attaches(app, client, as_, make_group):
    me = as_("member")
    group = make_group(members=[me])
    content = make.pdf("la même annexe, envoyée deux fois")
    thread_id = thread_id_from(new_thread(client, group, files=[(io.BytesIO(content), "Annexe.pdf")]))
    reply_with(client, thread_id, "Je la renvoie.", [(io.BytesIO(content), "Annexe (2).pdf")])
    first, second = message_ids(app, thread_id)
    first_attachment, second_attachment = attachment_ids(app)
    age_files(app, hours=2)

    assert client.post(f"/groups/messages/{second}/delete").status_code == 302
    assert client.get(f"/groups/attachments/{second_attachment}").status_code == 404
    assert [path.read_bytes() for path in stored_files(app)] == [content]
    response = client.get(f"/groups/attachments/{first_attachment}")
    assert response.status_code == 200 and response.data == content

    # Once nothing refers to it any more, it goes.
    assert client.post(f"/groups/messages/{first}/delete").status_code == 302
    assert stored_files(app) == []


# --- Mentions of ids the database cannot hold ----------------------------------------------------

TOO_LARGE = 2**31  # one more than a PostgreSQL INTEGER holds


@pytest.mark.parametrize("body", [
    f"Bonjour @[X](user:{TOO_LARGE})",
    "Bonjour @[X](user:99999999999)",
    "Bonjour @[X](user:999999999999999999)",
    "Du code : `@[X](user:99999999999)`",
    "```\n@[X](user:99999999999)\n```",
    "> @[X](user:99999999999)",
])
def test_a_mention_of_an_impossible_id_is_plain_text(app, client, as_, make_group, body):
    me = as_("member")
    group = make_group(members=[me])
    thread_id = thread_id_from(new_thread(client, group, body="Ouverture"))
    reply_with(client, thread_id, body, [])
    page = client.get(f"/groups/threads/{thread_id}")
    assert page.status_code == 200
    assert 'class="mention"' not in page.get_data(as_text=True)
    # Opening a thread with it works too.
    other = thread_id_from(new_thread(client, group, title="Un autre fil", body=body))
    assert client.get(f"/groups/threads/{other}").status_code == 200
    assert client.get(f"/groups/{group.slug}").status_code == 200
