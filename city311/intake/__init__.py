"""The front ends with no person on the city's side: e-mail to 311, texting conversations and
the phone tree. Each files through `servicerequests.intake` (preview, submit_request) and logs
its contacts through `contacts`, like every other channel."""
