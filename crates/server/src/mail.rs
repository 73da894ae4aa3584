//! E-mail through a local SMTP relay: a background thread takes messages from a channel and
//! speaks plain SMTP (EHLO, MAIL FROM, RCPT TO, DATA, QUIT) to the relay. A failed delivery is
//! tried again a few times and then logged; nothing here ever blocks a request.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

/// One message to send.
#[derive(Debug, Clone)]
pub(crate) struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// The sending side; dropping it ends the thread once the queue is empty.
#[derive(Debug)]
pub(crate) struct Mailer {
    tx: mpsc::Sender<Mail>,
}

/// Waits between tries of one message.
const RETRY_WAITS: [Duration; 3] =
    [Duration::from_secs(1), Duration::from_secs(5), Duration::from_secs(30)];
const IO_TIMEOUT: Duration = Duration::from_secs(20);

impl Mailer {
    /// Starts the sending thread for `relay` (`host:port`), sending from `from`.
    pub(crate) fn start(relay: String, from: String) -> std::io::Result<Mailer> {
        let (tx, rx) = mpsc::channel::<Mail>();
        std::thread::Builder::new().name("casebook-mail".into()).spawn(move || {
            for mail in rx {
                deliver(&relay, &from, &mail);
            }
        })?;
        Ok(Mailer { tx })
    }

    /// Queues a message; returns at once.
    pub(crate) fn send(&self, mail: Mail) {
        if self.tx.send(mail).is_err() {
            tracing::warn!("the mail thread has stopped; a notification e-mail was dropped");
        }
    }
}

fn deliver(relay: &str, from: &str, mail: &Mail) {
    let mut tries = 0;
    loop {
        match send(relay, from, mail) {
            Ok(()) => {
                tracing::debug!(to = %mail.to, "sent a notification e-mail");
                return;
            }
            Err(e) => match RETRY_WAITS.get(tries) {
                Some(wait) => {
                    tracing::info!(to = %mail.to, error = %e, "cannot send an e-mail yet; trying again");
                    std::thread::sleep(*wait);
                    tries += 1;
                }
                None => {
                    tracing::warn!(to = %mail.to, relay, error = %e, "gave up sending an e-mail");
                    return;
                }
            },
        }
    }
}

fn err(msg: String) -> std::io::Error {
    std::io::Error::other(msg)
}

/// Reads one reply (all its lines) and checks its code is one of `ok`.
fn expect(r: &mut impl BufRead, ok: &[u16]) -> std::io::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(err("the relay closed the connection".into()));
        }
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            break;
        }
    }
    let code: u16 = line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
    if ok.contains(&code) {
        Ok(())
    } else {
        Err(err(format!("the relay answered: {}", line.trim_end())))
    }
}

fn command(
    w: &mut impl Write,
    r: &mut impl BufRead,
    line: &str,
    ok: &[u16],
) -> std::io::Result<()> {
    w.write_all(line.as_bytes())?;
    w.write_all(b"\r\n")?;
    w.flush()?;
    expect(r, ok)
}

fn send(relay: &str, from: &str, mail: &Mail) -> std::io::Result<()> {
    let stream = TcpStream::connect(relay)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut r = BufReader::new(stream.try_clone()?);
    let mut w = stream;
    expect(&mut r, &[220])?;
    if command(&mut w, &mut r, "EHLO casebook", &[250]).is_err() {
        command(&mut w, &mut r, "HELO casebook", &[250])?;
    }
    command(&mut w, &mut r, &format!("MAIL FROM:<{from}>"), &[250])?;
    command(&mut w, &mut r, &format!("RCPT TO:<{}>", mail.to), &[250, 251])?;
    command(&mut w, &mut r, "DATA", &[354])?;
    w.write_all(message(from, mail).as_bytes())?;
    command(&mut w, &mut r, ".", &[250])?;
    // The message is accepted; how the goodbye goes does not matter.
    let _ = command(&mut w, &mut r, "QUIT", &[221]);
    Ok(())
}

/// The message as it goes after DATA: headers, body with CRLF line ends and leading dots
/// doubled, ending with CRLF (the lone dot follows).
fn message(from: &str, mail: &Mail) -> String {
    let mut out = format!(
        "From: {from}\r\nTo: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        mail.to,
        header_text(&mail.subject)
    );
    for line in mail.body.lines() {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

/// A header value on one line: control characters become spaces; anything beyond ASCII is
/// encoded as an RFC 2047 word.
fn header_text(s: &str) -> String {
    let flat: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.is_ascii() { flat } else { format!("=?UTF-8?B?{}?=", STANDARD.encode(flat.as_bytes())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_stay_on_one_line_and_dots_are_doubled() {
        assert_eq!(header_text("a\r\nBcc: x"), "a  Bcc: x");
        assert!(header_text("café").starts_with("=?UTF-8?B?"));
        let m = message(
            "wiki@example.com",
            &Mail {
                to: "ann@example.com".into(),
                subject: "Hi".into(),
                body: "one\n.\n..two".into(),
            },
        );
        assert!(m.ends_with("one\r\n..\r\n...two\r\n"), "{m}");
        assert!(m.contains("To: ann@example.com\r\nSubject: Hi\r\n"));
    }

    /// A relay that turns the first connection away and accepts the second: the message is
    /// tried again and arrives once.
    #[test]
    fn a_refused_delivery_is_tried_again() {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let relay = listener.local_addr().unwrap().to_string();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for (i, conn) in listener.incoming().enumerate() {
                let mut w = conn.unwrap();
                if i == 0 {
                    w.write_all(b"421 busy, try later\r\n").unwrap();
                    continue;
                }
                let mut r = BufReader::new(w.try_clone().unwrap());
                w.write_all(b"220 ready\r\n").unwrap();
                let mut line = String::new();
                let mut data = false;
                while r.read_line(&mut line).unwrap_or(0) > 0 {
                    let l = line.trim_end().to_string();
                    line.clear();
                    let reply: &[u8] = if data {
                        if l != "." {
                            continue;
                        }
                        data = false;
                        tx.send(i).unwrap();
                        b"250 queued\r\n"
                    } else if l == "DATA" {
                        data = true;
                        b"354 go on\r\n"
                    } else if l == "QUIT" {
                        b"221 bye\r\n"
                    } else {
                        b"250 ok\r\n"
                    };
                    w.write_all(reply).unwrap();
                }
            }
        });
        let mailer = Mailer::start(relay, "wiki@example.com".into()).unwrap();
        mailer.send(Mail {
            to: "ann@example.com".into(),
            subject: "Hi".into(),
            body: "Hello".into(),
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(10)).unwrap(), 1);
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
    }
}
