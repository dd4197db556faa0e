"""After hours, a caller leaves a voicemail with the phone tree; in the morning Omar (call
taker) finds it in the console's queue with its recording and transcription, calls back and
records what came of it. Dana (Streets staff) and Sofia (supervisor) do not work the queue."""

from __future__ import annotations

from django.test import override_settings

from city311.contacts.models import Interaction, Kind, WrapUp
from city311.intake.models import Voicemail
from city311.test import BaseTestCase
from tests.test_intake_phone import CALLER, twilio_post

RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"


@override_settings(CITY311_CALL_CENTRE_HOURS="Mo 00:00-00:01", CITY311_CALL_CENTRE_TRANSFER="")
class CallbackQueueTests(BaseTestCase):
    def leave_voicemail(
        self, call: str = "CA1", *, frm: str = CALLER, words: str = ""
    ) -> Voicemail:
        fields = {
            "CallSid": call,
            "From": frm,
            "RecordingUrl": RECORDING,
            "RecordingDuration": "14",
        }
        assert (
            twilio_post(self.client, "/intake/voice/voicemail?lang=es", **fields).status_code == 200
        )
        if words:
            twilio_post(
                self.client,
                "/intake/voice/transcription?lang=es",
                CallSid=call,
                TranscriptionText=words,
            )
        return Voicemail.objects.get(call_sid=call)

    def queue(self) -> str:
        response = self.client.get("/console/callbacks/")
        assert response.status_code == 200
        return response.content.decode()

    def called_back(self, voicemail: Voicemail, outcome: str, number: str = ""):
        return self.client.post(
            f"/console/callbacks/{voicemail.pk}/called-back/",
            {"outcome": outcome, "tracking_number": number},
        )

    def test_a_voicemail_is_in_the_call_takers_queue_with_its_recording_and_words(self):
        self.leave_voicemail(words="Hay basura en la esquina, llámenme")
        self.sign_in(self.omar)
        page = self.queue()
        assert "Hay basura en la esquina, llámenme" in page
        assert f'href="{RECORDING}"' in page and "(14 s)" in page
        assert "(718) 555-0199" in page or "718-555-0199" in page

    def test_calling_back_records_who_when_and_what_came_of_it(self):
        voicemail = self.leave_voicemail(words="Call me about the pothole")
        sr = self.report()
        self.sign_in(self.omar)
        response = self.called_back(voicemail, Kind.STATUS_CHECK, sr.tracking_number)
        assert response.status_code == 302
        interaction = Interaction.objects.get(pk=voicemail.interaction_id)
        assert interaction.wrap_up == WrapUp.CALLED_BACK and interaction.kind == Kind.STATUS_CHECK
        assert interaction.staff == self.omar and interaction.ended_at is not None
        assert interaction.request == sr
        page = self.queue()
        assert "Call me about the pothole" not in page
        assert 'data-testid="called-back"' in page and "omar" in page and sr.tracking_number in page

    def test_a_second_call_taker_is_told_it_was_already_done(self):
        voicemail = self.leave_voicemail()
        self.sign_in(self.omar)
        assert self.called_back(voicemail, Kind.INFORMATION).status_code == 302
        again = self.called_back(voicemail, Kind.INFORMATION)
        assert again.status_code == 400
        assert "Someone has already called this resident back." in again.content.decode()
        assert Interaction.objects.get(pk=voicemail.interaction_id).kind == Kind.INFORMATION

    def test_a_filed_request_needs_its_number_and_a_wrong_number_is_said(self):
        voicemail = self.leave_voicemail()
        self.sign_in(self.omar)
        response = self.called_back(voicemail, Kind.NEW_REQUEST)
        assert response.status_code == 400
        assert "Give the tracking number of the request you filed." in response.content.decode()
        response = self.called_back(voicemail, Kind.NEW_REQUEST, "123-4567-890")
        assert response.status_code == 400 and 'data-testid="error"' in response.content.decode()
        response = self.called_back(voicemail, "made_up")
        assert response.status_code == 400
        assert "Choose what came of the call back." in response.content.decode()
        assert Interaction.objects.get(pk=voicemail.interaction_id).is_open

    def test_a_callback_request_without_words_or_number_is_listed_too(self):
        fields = {"CallSid": "CA2", "From": "", "RecordingDuration": "0"}
        twilio_post(self.client, "/intake/voice/voicemail?lang=en", **fields)
        self.sign_in(self.omar)
        page = self.queue()
        assert "Number withheld" in page and "a callback request" in page

    def test_the_queue_is_in_spanish_for_a_spanish_speaking_call_taker(self):
        self.leave_voicemail()
        self.sign_in(self.omar)
        self.client.cookies["django_language"] = "es"
        page = self.queue()
        assert "Mensajes de voz para devolver la llamada" in page and "Grabación" in page

    def test_only_those_who_log_contacts_work_the_queue(self):
        voicemail = self.leave_voicemail()
        for person in (self.dana, self.pat, self.sofia):
            self.sign_in(person)
            assert self.client.get("/console/callbacks/").status_code == 403
            assert self.called_back(voicemail, Kind.INFORMATION).status_code == 403
        self.client.logout()
        assert self.client.get("/console/callbacks/").status_code == 302
        assert Interaction.objects.get(pk=voicemail.interaction_id).is_open
