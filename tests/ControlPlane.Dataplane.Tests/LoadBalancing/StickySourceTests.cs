using ControlPlane.Dataplane.LoadBalancing;
using ControlPlane.LoadBalancing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace ControlPlane.Dataplane.Tests.LoadBalancing;

/// <summary>
/// One table of requests, looked up for sticky key "user" by the node (<see cref="HttpStickySource"/>
/// over the request) and by the route preview (<see cref="DictionaryStickySource"/> over its maps):
/// both must find the same value in the same place.
/// </summary>
public sealed class StickySourceTests
{
    /// <summary>A request: its header "user" (or another spelling), its Cookie header fields, its query string as sent.</summary>
    private sealed record Case(string Name, (string Name, string Value)? Header, string[] Cookies, string Query, string Value, StickyValueSource Source);

    private static readonly Case[] Table =
    [
        new Case("header, any spelling", ("USER", "h"), ["user=c"], "user=q", "h", StickyValueSource.Header),
        new Case("empty header goes on to the cookie", ("user", ""), ["user=c"], "", "c", StickyValueSource.Cookie),
        new Case("cookie before query", null, ["user=c"], "user=q", "c", StickyValueSource.Cookie),
        new Case("cookie name of another case", null, ["USER=alice"], "", "", StickyValueSource.None),
        new Case("exact cookie name wins over another case after it", null, ["user=alice; USER=bob"], "", "alice", StickyValueSource.Cookie),
        new Case("exact cookie name wins over another case before it", null, ["USER=bob; user=alice"], "", "alice", StickyValueSource.Cookie),
        new Case("first cookie of the name", null, ["user=first; user=second"], "", "first", StickyValueSource.Cookie),
        new Case("cookie split over two headers", null, ["x=1", "user=second-field"], "", "second-field", StickyValueSource.Cookie),
        new Case("cookie value with a space", null, ["user=a b"], "", "a b", StickyValueSource.Cookie),
        new Case("cookie value with a comma", null, ["user=a,b"], "", "a,b", StickyValueSource.Cookie),
        new Case("cookie value not percent-decoded", null, ["user=%41lice"], "", "%41lice", StickyValueSource.Cookie),
        new Case("cookie value quoted", null, ["user=\"quoted\""], "", "quoted", StickyValueSource.Cookie),
        new Case("cookie padded", null, ["x=1 ;  user = padded "], "", "padded", StickyValueSource.Cookie),
        new Case("empty first cookie goes on to the query", null, ["user=; user=b"], "user=q", "q", StickyValueSource.Query),
        new Case("query '+' is a space", null, [], "user=a+b", "a b", StickyValueSource.Query),
        new Case("query %20", null, [], "user=a%20b", "a b", StickyValueSource.Query),
        new Case("query %2B", null, [], "user=a%2Bb", "a+b", StickyValueSource.Query),
        new Case("query UTF-8", null, [], "user=caf%C3%A9", "café", StickyValueSource.Query),
        new Case("query comma", null, [], "user=x%2Cy", "x,y", StickyValueSource.Query),
        new Case("query name of another case", null, [], "User=alice", "", StickyValueSource.None),
        new Case("exact query name wins", null, [], "USER=x&user=y", "y", StickyValueSource.Query),
        new Case("first query parameter of the name", null, [], "user=first&user=second", "first", StickyValueSource.Query),
        new Case("query name decoded", null, [], "%75ser=n", "n", StickyValueSource.Query),
        new Case("nothing", ("other", "h"), ["other=c"], "other=q", "", StickyValueSource.None),
    ];

    public static TheoryData<string> Cases => [.. Table.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void TheNodeFinds(string name)
    {
        var c = Table.Single(c => c.Name == name);
        var http = new DefaultHttpContext();
        if (c.Header is { } header)
        {
            http.Request.Headers[header.Name] = header.Value;
        }
        if (c.Cookies.Length > 0)
        {
            http.Request.Headers.Cookie = new StringValues(c.Cookies);
        }
        if (c.Query.Length > 0)
        {
            http.Request.QueryString = new QueryString("?" + c.Query);
        }
        Assert.Equal(new StickyValue(c.Value, c.Source), StickyValue.Find("user", new HttpStickySource(http.Request)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ThePreviewFinds(string name)
    {
        var c = Table.Single(c => c.Name == name);
        // The preview's request: headers (Cookie headers among them) and query parameters by name, as they appear in the URL.
        var headers = new List<KeyValuePair<string, string>>();
        if (c.Header is { } header)
        {
            headers.Add(new(header.Name, header.Value));
        }
        headers.AddRange(c.Cookies.Select(cookie => new KeyValuePair<string, string>("Cookie", cookie)));
        var query = c.Query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Select(p => new KeyValuePair<string, string>(p[0], p.Length > 1 ? p[1] : ""))
            .ToList();
        Assert.Equal(new StickyValue(c.Value, c.Source), StickyValue.Find("user", new DictionaryStickySource(headers, null, query)));
    }
}
