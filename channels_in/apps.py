from django.apps import AppConfig


class ChannelsInConfig(AppConfig):
    name = "channels_in"
