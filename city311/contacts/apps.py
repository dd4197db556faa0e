from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "city311.contacts"
    verbose_name = "Contacts (call centre)"
