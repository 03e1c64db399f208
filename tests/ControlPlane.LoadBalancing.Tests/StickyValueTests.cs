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
        var source = new DictionaryStickySource([new("x-user", "h")], [new("X-User", "c")], [new("X-USER", "q")]);
        Assert.Equal("h", source.GetHeader("X-User"));
        Assert.Null(source.GetCookie("x-user"));
        Assert.Null(source.GetQuery("x-user"));
    }

    [Fact]
    public void NoStickyKey_FindsNothing()
    {
        Assert.Equal(StickyValue.None, StickyValue.Find("", Source("h")));
        Assert.Equal(StickyValue.None, StickyValue.Find(null, Source("h")));
    }
}
