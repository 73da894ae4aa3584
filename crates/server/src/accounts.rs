//! The pages that change who is asking: sign-in and sign-out, the account page (password, API
//! tokens), the administrators' page (roles, accounts, groups, folder rules), and first-run
//! setup. Working out who is asking, the session cookie and the CSRF check are in `auth.rs`,
//! which this module uses and which never uses it.

use crate::auth::{
    ClientAddr, SignedIn, accounts, cookie, local, same, session_secret, start_session,
};
use crate::http::{FormBody, WebResult};
use crate::permission::Admin;
use crate::{Actor, AppState, PageError, blocking};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use casebook_accounts::{Accounts, Role};
use casebook_core::{Error, Timestamp};
use minijinja::context;
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", get(logout_form).post(logout))
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route("/admin", get(admin))
        .route("/admin/role", post(|s, a, f| admin_action(s, a, f, "role", change_role)))
        .route("/admin/users", post(|s, a, f| admin_action(s, a, f, "added", add_user)))
        .route("/admin/groups", post(|s, a, f| admin_action(s, a, f, "groups", change_groups)))
        .route("/admin/rules", post(|s, a, f| admin_action(s, a, f, "rules", change_rules)))
        .route("/setup", get(setup_form).post(setup))
}

async fn login_form(State(st): State<AppState>, actor: Actor, q: Query<NextQuery>) -> WebResult {
    accounts(&st)?;
    Ok(login_page(&st, &actor, StatusCode::OK, "", local(&q.next), ""))
}

fn login_page(
    st: &AppState,
    actor: &Actor,
    status: StatusCode,
    name: &str,
    next: &str,
    error: &str,
) -> Response {
    let page = st.page(
        "login.html",
        actor,
        context! {
            title => "Sign in", name, next, error,
            sso => st.oidc.as_ref().map(|o| o.name().to_string()),
        },
    );
    (status, page).into_response()
}

async fn login(
    State(st): State<AppState>,
    headers: HeaderMap,
    actor: Actor,
    ClientAddr(addr): ClientAddr,
    form: Result<FormBody<LoginForm>, PageError>,
) -> Result<Response, PageError> {
    let acc = accounts(&st)?;
    let Ok(FormBody(form)) = form else {
        return Err(PageError(Error::invalid("send the user name and password as a form")));
    };
    let next = local(&form.next).to_string();
    let throttle = &st.auth.throttle;
    let again = |status, error: &str| login_page(&st, &actor, status, &form.name, &next, error);
    if let Err(wait) = throttle.attempt(&form.name, addr) {
        tracing::info!(user = %form.name, address = ?addr, "sign-in throttled");
        let mut resp = again(StatusCode::TOO_MANY_REQUESTS, &wait.message());
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.seconds()));
        return Ok(resp);
    }
    let (name, password) = (form.name.trim().to_string(), form.password);
    let user = blocking(move || acc.check_password(&name, &password)).await?;
    match user {
        Some(user) => {
            throttle.succeeded(&form.name, addr);
            tracing::info!(user = %user.name, "signed in");
            Ok(start_session(&st, &headers, &user, &next).await)
        }
        None => {
            throttle.failed(&form.name, addr);
            tracing::info!(user = %form.name, address = ?addr, "failed sign-in");
            Ok(again(StatusCode::UNAUTHORIZED, "Wrong user name or password."))
        }
    }
}

async fn logout_form(State(st): State<AppState>, actor: Actor) -> Response {
    st.page("logout.html", &actor, context! { title => "Sign out" })
}

async fn logout(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    let acc = accounts(&st)?;
    if let Some(secret) = session_secret(&headers).map(str::to_string) {
        blocking(move || acc.end_session(&secret)).await?;
    }
    let mut resp = Redirect::to("/").into_response();
    resp.headers_mut().append(header::SET_COOKIE, cookie(&st, &headers, "", 0));
    Ok(resp)
}

async fn account(
    State(st): State<AppState>,
    actor: Actor,
    Query(q): Query<AccountQuery>,
) -> Result<Response, PageError> {
    let me = actor.require_session()?;
    let notice = match q.done.as_str() {
        "password" => "Your password has been changed; your other sessions have ended.",
        "revoked" => "The token has been revoked.",
        _ => "",
    };
    account_page(&st, &actor, &me, StatusCode::OK, notice, "", None).await
}

#[derive(serde::Serialize)]
struct TokenView {
    id: i64,
    label: String,
    created: String,
    last_used: String,
}

async fn account_page(
    st: &AppState,
    actor: &Actor,
    me: &SignedIn,
    status: StatusCode,
    notice: &str,
    error: &str,
    new_token: Option<String>,
) -> Result<Response, PageError> {
    let acc = accounts(st)?;
    let name = me.name.clone();
    let (user, tokens, identities, has_password) = blocking(move || {
        Ok((
            acc.require_user(&name)?,
            acc.tokens(&name)?,
            acc.identities(&name)?,
            acc.has_password(&name)?,
        ))
    })
    .await?;
    // The configured provider by its name; a link left from an earlier provider by its address.
    let providers: Vec<String> = identities
        .into_iter()
        .map(|i| match &st.oidc {
            Some(o) if o.issuer() == i.issuer => o.name().to_string(),
            _ => i.issuer,
        })
        .collect();
    let tokens: Vec<TokenView> = tokens
        .into_iter()
        .map(|t| TokenView {
            id: t.id,
            label: t.label,
            created: Timestamp::new(t.created, 0).short(),
            last_used: t.last_used.map(|s| Timestamp::new(s, 0).short()).unwrap_or_default(),
        })
        .collect();
    let page = st.page(
        "account.html",
        actor,
        context! {
            title => "Your account",
            name => user.name,
            email => user.email,
            role => user.role.as_str(),
            tokens,
            providers,
            has_password,
            new_token,
            notice,
            error,
        },
    );
    Ok((status, page).into_response())
}

async fn change_password(
    State(st): State<AppState>,
    headers: HeaderMap,
    actor: Actor,
    form: Result<FormBody<PasswordForm>, PageError>,
) -> Result<Response, PageError> {
    let me = actor.require_session()?;
    let acc = accounts(&st)?;
    let FormBody(form) = form?;
    let refuse = |msg: &str| {
        let (st, actor, me, msg) = (st.clone(), actor.clone(), me.clone(), msg.to_string());
        async move { account_page(&st, &actor, &me, StatusCode::BAD_REQUEST, "", &msg, None).await }
    };
    if form.new != form.confirm {
        return refuse("The new password and its confirmation differ; nothing was changed.").await;
    }
    if let Err(e) = casebook_accounts::check_password(&form.new) {
        return refuse(&format!("{}; nothing was changed.", e.message)).await;
    }
    let name = me.name.clone();
    let a = acc.clone();
    let user = blocking(move || {
        let Some(user) = a.check_password(&name, &form.current)? else {
            return Ok(None);
        };
        a.set_password(&name, &form.new)?;
        Ok(Some(user))
    })
    .await?;
    match user {
        // Every session ended with the change; this browser gets a new one.
        Some(user) => Ok(start_session(&st, &headers, &user, "/account?done=password").await),
        None => refuse("The current password is wrong; nothing was changed.").await,
    }
}

async fn create_token(
    State(st): State<AppState>,
    actor: Actor,
    form: Result<FormBody<TokenForm>, PageError>,
) -> Result<Response, PageError> {
    let me = actor.require_session()?;
    let acc = accounts(&st)?;
    let label = form.map(|FormBody(f)| f.label).unwrap_or_default();
    let name = me.name.clone();
    let (_, secret) = blocking(move || acc.create_token(&name, &label)).await?;
    account_page(&st, &actor, &me, StatusCode::OK, "", "", Some(secret)).await
}

async fn revoke_token(
    State(st): State<AppState>,
    actor: Actor,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let me = actor.require_session()?;
    let acc = accounts(&st)?;
    blocking(move || acc.revoke_token(&me.name, id)).await?;
    Ok(Redirect::to("/account?done=revoked").into_response())
}

#[derive(serde::Serialize)]
struct UserView {
    name: String,
    email: String,
    role: &'static str,
    created: String,
}

async fn admin_page(
    st: &AppState,
    actor: &Actor,
    status: StatusCode,
    notice: &str,
    error: &str,
) -> Result<Response, PageError> {
    let acc = accounts(st)?;
    let (users, groups, rules) =
        blocking(move || Ok((acc.users()?, acc.groups()?, acc.folder_rules()?))).await?;
    let groups: Vec<_> =
        groups.into_iter().map(|g| context! { name => g.name, members => g.members }).collect();
    let rules: Vec<_> = rules
        .into_iter()
        .map(|r| context! { pattern => r.pattern(), folder => r.folder, groups => r.groups.join(", ") })
        .collect();
    let users: Vec<UserView> = users
        .into_iter()
        .map(|u| UserView {
            created: Timestamp::new(u.created, 0).date(),
            role: u.role.as_str(),
            name: u.name,
            email: u.email,
        })
        .collect();
    Ok((status, st.page(
        "admin.html",
        actor,
        context! { title => "Accounts", users, groups, rules, notice, error, roles => ["reader", "editor", "admin"] },
    )).into_response())
}

async fn admin(
    State(st): State<AppState>,
    Admin(actor): Admin,
    Query(q): Query<AdminQuery>,
) -> Result<Response, PageError> {
    let notice = match q.done.as_str() {
        "role" => "The role has been changed.",
        "added" => "The account has been added.",
        "groups" => "The groups have been changed.",
        "rules" => "The folder rules have been changed.",
        _ => "",
    };
    admin_page(&st, &actor, StatusCode::OK, notice, "").await
}

/// One of the administrators' forms, routed as
/// `post(|s, a, f| admin_action(s, a, f, "done", act))`: `act` runs on the blocking pool;
/// success goes back to the admin page with `done`, a refusal shows the admin page again with
/// the reason.
async fn admin_action<T: Send + 'static>(
    State(st): State<AppState>,
    Admin(actor): Admin,
    FormBody(form): FormBody<T>,
    done: &str,
    act: fn(&Accounts, T) -> casebook_core::Result<()>,
) -> Result<Response, PageError> {
    let acc = accounts(&st)?;
    match blocking(move || act(&acc, form)).await {
        Ok(()) => Ok(Redirect::to(&format!("/admin?done={done}")).into_response()),
        Err(e) if e.kind != casebook_core::ErrorKind::Internal => {
            admin_page(&st, &actor, crate::error::status(e.kind), "", &e.message).await
        }
        Err(e) => Err(PageError(e)),
    }
}

fn change_role(acc: &Accounts, form: RoleForm) -> casebook_core::Result<()> {
    let role: Role = form.role.parse()?;
    let u = acc.set_role(&form.name, role)?;
    tracing::info!(user = %u.name, role = %u.role, "role changed");
    Ok(())
}

fn add_user(acc: &Accounts, form: AddUserForm) -> casebook_core::Result<()> {
    let role: Role = form.role.parse()?;
    acc.add_user(form.name.trim(), form.email.trim(), role, &form.password)?;
    Ok(())
}

fn change_groups(acc: &Accounts, f: GroupForm) -> casebook_core::Result<()> {
    let (group, user) = (f.group.trim(), f.user.trim());
    match f.action.as_str() {
        "create" => acc.add_group(group),
        "delete" => acc.remove_group(group),
        "add" => acc.add_member(group, user),
        "remove" => acc.remove_member(group, user),
        _ => Err(Error::invalid("the action is create, delete, add or remove")),
    }?;
    tracing::info!(group, user, action = %f.action, "group changed");
    Ok(())
}

fn change_rules(acc: &Accounts, f: RuleForm) -> casebook_core::Result<()> {
    match f.action.as_str() {
        "set" => {
            let groups: Vec<&str> =
                f.groups.split([',', ' ']).map(str::trim).filter(|g| !g.is_empty()).collect();
            acc.set_folder_rule(&f.folder, &groups).map(|_| ())
        }
        "remove" => acc.remove_folder_rule(&f.folder),
        _ => Err(Error::invalid("the action is set or remove")),
    }?;
    tracing::info!(folder = %f.folder, groups = %f.groups, action = %f.action, "folder rule changed");
    Ok(())
}

fn check_code(st: &AppState, code: &str) -> Result<(), PageError> {
    // An administrator made meanwhile (with the CLI) spends the link too.
    if st.auth.lock_code().is_some()
        && let Some(acc) = &st.opts.accounts
        && acc.has_admin()?
    {
        *st.auth.lock_code() = None;
    }
    match st.auth.lock_code().as_deref() {
        Some(c) if same(c, code) => Ok(()),
        Some(_) => Err(PageError(Error::forbidden(
            "this setup link is not valid; use the link printed in the server's log",
        ))),
        None => Err(PageError(Error::not_found("this wiki is set up already; sign in instead"))),
    }
}

async fn setup_form(State(st): State<AppState>, actor: Actor, q: Query<SetupQuery>) -> WebResult {
    accounts(&st)?;
    check_code(&st, &q.code)?;
    Ok(setup_page(&st, &actor, StatusCode::OK, &q.code, "", "", ""))
}

fn setup_page(
    st: &AppState,
    actor: &Actor,
    status: StatusCode,
    code: &str,
    name: &str,
    email: &str,
    error: &str,
) -> Response {
    let page = st.page(
        "setup.html",
        actor,
        context! { title => "Set up this wiki", code, name, email, error },
    );
    (status, page).into_response()
}

async fn setup(
    State(st): State<AppState>,
    headers: HeaderMap,
    actor: Actor,
    form: Result<FormBody<SetupForm>, PageError>,
) -> Result<Response, PageError> {
    let acc = accounts(&st)?;
    let FormBody(form) = form?;
    check_code(&st, &form.code)?;
    let (name, email) = (form.name.trim().to_string(), form.email.trim().to_string());
    let again = |error: &str| {
        setup_page(&st, &actor, StatusCode::BAD_REQUEST, &form.code, &name, &email, error)
    };
    if form.password != form.confirm {
        return Ok(again("The password and its confirmation differ."));
    }
    let (n, e, p) = (name.clone(), email.clone(), form.password);
    match blocking(move || acc.add_first_admin(&n, &e, &p)).await {
        Ok(user) => {
            *st.auth.lock_code() = None;
            tracing::info!(user = %user.name, "first administrator created; the setup link is spent");
            Ok(start_session(&st, &headers, &user, "/account").await)
        }
        Err(err) if err.kind == casebook_core::ErrorKind::InvalidInput => Ok(again(&err.message)),
        Err(err) => Err(PageError(err)),
    }
}

#[derive(Deserialize, Default)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize, Default)]
struct AccountQuery {
    #[serde(default)]
    done: String,
}

#[derive(Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    label: String,
}

#[derive(Deserialize, Default)]
struct AdminQuery {
    #[serde(default)]
    done: String,
}

#[derive(Deserialize)]
struct RoleForm {
    name: String,
    role: String,
}

#[derive(Deserialize)]
struct AddUserForm {
    name: String,
    email: String,
    role: String,
    password: String,
}

#[derive(Deserialize)]
struct GroupForm {
    /// create, delete, add (a member) or remove (a member).
    action: String,
    group: String,
    #[serde(default)]
    user: String,
}

#[derive(Deserialize)]
struct RuleForm {
    /// set or remove.
    action: String,
    folder: String,
    /// Group names separated by commas or spaces.
    #[serde(default)]
    groups: String,
}

#[derive(Deserialize, Default)]
struct SetupQuery {
    #[serde(default)]
    code: String,
}

#[derive(Deserialize)]
struct SetupForm {
    code: String,
    name: String,
    email: String,
    password: String,
    confirm: String,
}
