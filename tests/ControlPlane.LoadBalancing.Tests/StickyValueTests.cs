namespace ControlPlane.LoadBalancing.Tests;

public sealed class StickyValueTests
{
    private static DictionaryStickySource Source(string? header = null, string? cookie = null, string? query = null) => new(
        header is null ? [] : [new("Customer_ID", header)],
        cookie is null ? [] : [new("customer_id", cookie)],
        query is null ? [] : new Dictionary<string, string> { ["customer_id"] = query });

    [Fact]
    public void HeaderThenCookieThenQuery()
    {
        Assert.Equal(new StickyValue("h", StickyValueSource.Header), StickyValue.Find("customer_id", Source("h", "c", "q")));
        Assert.Equal(new StickyValue("c", StickyValueSource.Cookie), StickyValue.Find("customer_id", Source(null, "c", "q")));
        Assert.Equal(new StickyValue("q", StickyValueSource.Query), StickyValue.Find("customer_id", Source(null, null, "q")));
        Assert.False(StickyValue.Find("customer_id", Source()).Found);
    }

    [Fact]
    public void EmptyValues_CountAsAbsent()
    {
        Assert.Equal(new StickyValue("q", StickyValueSource.Query), StickyValue.Find("customer_id", Source("", "", "q")));
    }

    [Fact]
    public void HeaderNamesAreCaseInsensitive_CookieAndQueryNamesAreNot()
    {
        Assert.Equal(new StickyValue("h", StickyValueSource.Header), StickyValue.Find("X-User", new DictionaryStickySource([new("x-user", "h")], null, null)));
        Assert.False(StickyValue.Find("x-user", new DictionaryStickySource(null, [new("X-User", "c")], [new("X-USER", "q")])).Found);
    }

    [Fact]
    public void NoStickyKey_FindsNothing()
    {
        Assert.Equal(StickyValue.None, StickyValue.Find("", Source("h")));
        Assert.Equal(StickyValue.None, StickyValue.Find(null, Source("h")));
    }

    [Fact]
    public void ThePreviewsMaps_AreWrittenOutAsANodeReceivesThem_CookieHeadersFirst()
    {
        var source = new DictionaryStickySource(
            [new("cookie", "a=1"), new("x", "y"), new("Cookie", "b=2")],
            [new("user", "alice"), new("sid", "\"s\"")],
            [new("user", "a+b"), new("page", "2")]);

        Assert.Equal(["a=1", "b=2", "user=alice; sid=\"s\""], Enumerable.Range(0, source.CookieHeaderCount).Select(source.GetCookieHeader));
        Assert.Equal("user=a+b&page=2", source.QueryString);
        Assert.Equal(new StickyValue("s", StickyValueSource.Cookie), StickyValue.Find("sid", source));
        Assert.Equal(new StickyValue("a b", StickyValueSource.Query), StickyValue.Find("user", new DictionaryStickySource(null, null, [new("user", "a+b")])));
    }

    public static TheoryData<string, string?> Cookies => new()
    {
        { "user=alice", "alice" },
        { "USER=alice", null },                 // names are case-sensitive (RFC 6265)
        { "user=alice; USER=bob", "alice" },
        { "USER=bob; user=alice", "alice" },
        { "user=first; user=second", "first" }, // the first of that name wins
        { "user=a b", "a b" },                  // taken as sent, not dropped
        { "user=a, b", "a, b" },
        { "user=%41lice", "%41lice" },          // never percent-decoded
        { "user=\"quoted\"", "quoted" },        // one pair of surrounding quotes removed
        { "user=\"\"x\"\"", "\"x\"" },
        { "user=\"", "\"" },
        { " user = padded \t;x=1", "padded" },
        { "x=1;user=tight", "tight" },
        { "user=a=b", "a=b" },
        { "user", null },
        { "users=x; use=y", null },
        { "user=", "" },
        { "", null },
    };

    [Theory]
    [MemberData(nameof(Cookies))]
    public void CookieHeader_Rules(string header, string? expected)
    {
        Assert.Equal(expected, Internal.CookieHeader.Find(header, "user"));
    }

    public static TheoryData<string, string?> Queries => new()
    {
        { "?user=alice", "alice" },
        { "user=alice", "alice" },
        { "?User=alice", null },                // names are matched exactly
        { "?USER=x&user=y", "y" },
        { "?user=first&user=second", "first" },
        { "?user=a+b", "a b" },                 // form decoding: '+' is a space
        { "?user=a%20b", "a b" },
        { "?user=a%2Bb", "a+b" },
        { "?user=caf%C3%A9", "café" },          // %XX are UTF-8 bytes
        { "?user=x%2Cy", "x,y" },
        { "?user=100%", "100%" },               // a bad escape stays as it is
        { "?user=%zz", "%zz" },
        { "?%75ser=decoded-name", "decoded-name" },
        { "?a=1&&user=b", "b" },
        { "?user", "" },
        { "?users=x&use=y", null },
        { "?", null },
        { "", null },
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public void FormQuery_Rules(string query, string? expected)
    {
        Assert.Equal(expected, Internal.FormQuery.Find(query, "user"));
    }
}
