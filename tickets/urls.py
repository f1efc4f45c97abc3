from django.urls import path

from . import views

public_patterns = [path("", views.public_home, name="home")]
agent_patterns = [path("", views.agent_home, name="home")]
portal_patterns = [path("", views.portal_home, name="home")]
