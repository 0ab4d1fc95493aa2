"""Signing in, when the page is shared with a team: who may see it, and the buttons to sign in and out."""
import streamlit as st


def signed_in_ui():
    """Whether to show the page: yes when no sign-in is configured (then .streamlit/config.toml lets only this machine
    in), else only to a visitor signed in with the identity provider in .streamlit/secrets.toml [auth]
    (docs/deployment.md, "Sharing the page with a team")."""
    if not sign_in_configured():
        return True
    if getattr(st.user, "is_logged_in", False):  # absent until Streamlit has an identity provider to ask
        st.sidebar.button("Sign out", key="sign_out", on_click=st.logout)
        return True
    st.info("Sign in to score reviews: this page is shared with a team, so it needs to know who you are.")
    st.button("Sign in", key="sign_in", type="primary", on_click=st.login)
    return False


def sign_in_configured():
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets.toml at all (Streamlit's error subclasses it)
        return False
