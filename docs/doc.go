// Package docs holds the repository's prose documentation (this folder's
// Markdown, beside README.md and the packages' own) and the test that keeps
// it true to the tree: every relative link of every Markdown file must
// lead to a file inside the repository, and every #anchor to a heading.
package docs
