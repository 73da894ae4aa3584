//! Typed pages as records: checking a page against its type, and creating a page of a type
//! from its template and a form's values.

use crate::Engine;
use crate::types::{PageType, TypeSet, new_page_text};
use casebook_core::{Author, Error, FolderPath, PagePath, ReadScope, Result};
use casebook_markdown::FrontMatter;
use casebook_store::Change;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

/// A page's type and what does not fit it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TypeCheck {
    pub page_type: Option<Arc<PageType>>,
    /// For the page's readers; empty when the page fits its type (or has none).
    pub warnings: Vec<String>,
}

/// A new page of a type, its fields already read by [`PageType::read_form`].
#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    pub type_name: &'a str,
    pub title: &'a str,
    pub folder: &'a str,
    pub tags: &'a [String],
    pub values: &'a [(String, Value)],
    pub author: &'a Author,
    /// What the person creating it may read: a template page they may not see is not used.
    pub scope: &'a ReadScope,
}

impl Engine {
    /// The page types at the head.
    pub fn types(&self) -> Arc<TypeSet> {
        self.snapshot().types.clone()
    }

    /// The type a page's front matter names and what does not fit it.
    pub fn check_type(&self, fm: &FrontMatter) -> TypeCheck {
        let (page_type, warnings) = self.types().check(fm);
        TypeCheck {
            page_type,
            warnings,
        }
    }

    /// The text a new page of `t` starts from: its template page (if `scope` sees it) without
    /// the front matter, else its inline body, else nothing.
    pub fn template_body(&self, t: &PageType, scope: &ReadScope) -> String {
        if let Some(tpl) = t.template.as_deref().and_then(|p| PagePath::parse(p).ok())
            && let Ok(page) = self.page(&tpl, None, scope)
        {
            return casebook_markdown::split_front_matter(&page.markdown)
                .1
                .to_string();
        }
        t.body.clone().unwrap_or_default()
    }

    /// Where a new record would go: `folder/title`, refused with a message when the title or
    /// folder cannot make a page path.
    pub fn record_path(folder: &str, title: &str) -> Result<PagePath> {
        let title = title.trim();
        if title.is_empty() {
            return Err(Error::invalid("give the page a title"));
        }
        if title.contains('/') {
            return Err(Error::invalid(
                "a title cannot contain `/`; choose the folder in its own field",
            ));
        }
        let folder = FolderPath::parse(folder.trim().trim_matches('/'))?;
        PagePath::parse(&folder.join(title))
    }

    /// Creates a page of a type in one commit, refusing (conflict) when a page of that path
    /// exists already. Returns the new page's path.
    pub fn create_record(&self, r: NewRecord<'_>) -> Result<PagePath> {
        let t =
            self.types().get(r.type_name).cloned().ok_or_else(|| {
                Error::not_found(format!("there is no page type {}", r.type_name))
            })?;
        let path = Self::record_path(r.folder, r.title)?;
        let text = new_page_text(
            r.title.trim(),
            &t.name,
            r.tags,
            r.values,
            &self.template_body(&t, r.scope),
        );
        if text.len() > self.max_page_bytes() {
            return Err(Error::too_large("the new page is larger than the limit"));
        }
        let file = path.file();
        let message = format!("Create {} {path}", t.label.to_lowercase());
        self.with_writer(|w| {
            if let Some(head) = w.head()?
                && w.blob_at(&head, &file)?.is_some()
            {
                return Err(Error::conflict(format!("a page {path} exists already")).into());
            }
            w.commit(
                &[Change::Put {
                    path: file.clone(),
                    content: text.clone().into_bytes(),
                }],
                r.author,
                &message,
            )
        })?;
        Ok(path)
    }
}
