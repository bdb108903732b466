package com.example.mail;

public final class Mailer {
    // TODO move to vault
    private static final String SMTP_PASSWORD = "Vq7!rT2#pLx9wK";
    private static final String PASSWORD_FIELD = "password";
}
