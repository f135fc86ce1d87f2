// text/html reduced to the text a reader sees.

#include <catch2/catch.hpp>

#include <string>

#include "html_text.hpp"
#include "mail_test_support.hpp"

namespace {

using lodestone::mail::declared_html_charset;
using lodestone::mail::html_to_text;
using lodestone::mail::test::is_valid_utf8;

TEST_CASE("Tags go, block elements break lines, whitespace collapses") {
  CHECK(html_to_text("<p>Hello <b>world</b></p><p>Second</p>") == "Hello world\n\nSecond");
  CHECK(html_to_text("<P>A<BR>B</P>") == "A\nB");
  CHECK(html_to_text("<div>one</div><div>two</div>") == "one\ntwo");
  CHECK(html_to_text("a \n\t b") == "a b");
  CHECK(html_to_text("  <p>  padded  </p>  ") == "padded");
  CHECK(html_to_text("<ul><li>one</li><li>two</li></ul>after") == "one\ntwo\n\nafter");
  CHECK(html_to_text("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>") == "a b\nc");
  CHECK(html_to_text("<h1>Title</h1>text") == "Title\n\ntext");
}

TEST_CASE("Scripts, styles, titles, Outlook's XML and comments are not text") {
  CHECK(html_to_text("<html><head><title>T</title><style>p { color: red }</style></head>"
                     "<body>Hi<script>alert('<b>')</script> there</body></html>") == "Hi there");
  CHECK(html_to_text("<xml><o:OfficeDocumentSettings><o:AllowPNG/>Normal</o:OfficeDocumentSettings></xml>Text") ==
        "Text");
  CHECK(html_to_text("a<!-- hidden <p>text</p> -->b") == "ab");
  CHECK(html_to_text("<!DOCTYPE html><?xml version='1.0'?><![CDATA[x]]>Hi") == "Hi");
  CHECK(html_to_text("<SCRIPT type=x>var a = '</p>';</SCRIPT>shown") == "shown");
}

TEST_CASE("Character references") {
  CHECK(html_to_text("&lt;tag&gt; &amp; &quot;q&quot; &apos;") == "<tag> & \"q\" '");
  CHECK(html_to_text("&eacute;&#233;&#xE9;&#XE9; &Eacute;") == "éééé É");
  CHECK(html_to_text("&euro;&#128;&#x80; &mdash; &hellip;") == "€€€ — …");
  CHECK(html_to_text("&amp &copy 2002") == "& © 2002");  // old names need no ';'
  CHECK(html_to_text("&ndash x") == "&ndash x");         // newer ones do
  CHECK(html_to_text("&foo; &; & x &#; &#x;") == "&foo; &; & x &#; &#x;");
  CHECK(html_to_text("&#0;&#xD800;&#1114112;&#99999999999999;") == "\uFFFD\uFFFD\uFFFD\uFFFD");
  CHECK(html_to_text("a&nbsp;&nbsp;b") == "a  b");  // kept, not collapsed
  CHECK(html_to_text("a&#10;&#32;b") == "a b");     // collapsible whitespace
}

TEST_CASE("Preformatted text keeps its whitespace") {
  CHECK(html_to_text("<pre>a\n  b</pre>") == "a\n  b");
  CHECK(html_to_text("x<pre>  code\r\n\tindented</pre>y") == "x\n\n  code\n\tindented\n\ny");
}

TEST_CASE("Odd markup is read as browsers read it") {
  CHECK(html_to_text("<a title=\"x>y\" href='a>b'>link</a>") == "link");
  CHECK(html_to_text("1 < 2 and 3 > 2") == "1 < 2 and 3 > 2");
  CHECK(html_to_text("a<!-- never closed") == "a");
  CHECK(html_to_text("a<script>never closed") == "a");
  CHECK(html_to_text("text <b") == "text");
  CHECK(html_to_text("<a href=\"never closed>x</a>") == "");
  CHECK(html_to_text("<font face=Arial size=2>Hi</font>") == "Hi");
  CHECK(html_to_text("caf\xC3\xA9 \xE2\x82\xAC") == "café €");
}

TEST_CASE("The charset a document declares") {
  CHECK(declared_html_charset(
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\">") ==
        "windows-1251");
  CHECK(declared_html_charset("<META charset='UTF-8'>") == "UTF-8");
  CHECK(declared_html_charset("<p>charset talk, no declaration</p>").empty());
  CHECK(declared_html_charset(std::string(10000, ' ') + "<meta charset=utf-8>").empty());  // too far in
}

TEST_CASE("Hostile markup stays linear and valid") {
  const std::size_t size = 2'000'000;
  const auto repeat = [size](const std::string& unit) {
    std::string out;
    while (out.size() < size) out += unit;
    return out;
  };
  CHECK(html_to_text(repeat("<")) == std::string(size, '<'));
  CHECK(html_to_text(repeat("<a ")).empty());
  CHECK(html_to_text(repeat("<a x=\"")).empty());
  CHECK(html_to_text(repeat("&")).size() == size);
  CHECK(html_to_text(repeat("&amp")).size() == size / 4);
  CHECK(html_to_text(repeat("<!--")).empty());
  CHECK(html_to_text(repeat("<script>")).empty());
  CHECK(html_to_text(repeat("<style>x</style>")).empty());
  CHECK(html_to_text(repeat("<div>")).empty());
  CHECK(html_to_text(repeat("<pre>")).empty());
  CHECK(html_to_text(repeat("x<br>")).size() == size / 5 * 2 - 1);
  CHECK(is_valid_utf8(html_to_text(repeat("&#x1F600;&#xD800;&#128;"))));
}

}  // namespace
