using ControlPlane.Grpc.Transcoding.Internal;

namespace ControlPlane.Grpc.Tests.Transcoding.Internal;

public sealed class PathTemplateTests
{
    [Theory]
    [InlineData("/v1/items/{name}", "/v1/items/img.video.svc", "img.video.svc")]
    [InlineData("/v1/items/{name=*}", "/v1/items/a%2Fb", "a%2Fb")]
    [InlineData("/v1/files/{path=**}", "/v1/files/a/b/c", "a/b/c")]
    [InlineData("/v1/files/{path=**}", "/v1/files", "")]
    [InlineData("/v1/{name=shelves/*/books/*}", "/v1/shelves/1/books/2", "shelves/1/books/2")]
    [InlineData("/v1/{name=shelves/*}/books:search", "/v1/shelves/s:1/books:search", "shelves/s:1")]
    [InlineData("/v1/{name}:cancel", "/v1/op:1:cancel", "op:1")]
    [InlineData("/v1/{name=**}:undelete", "/v1/a/b:undelete", "a/b")]
    public void Match_CapturesTheRawValue(string template, string path, string value)
    {
        var parsed = PathTemplateParser.Parse(template);
        Assert.True(parsed.TryMatch(path, out var values));
        Assert.Equal(value, Assert.Single(values));
    }

    [Theory]
    [InlineData("/v1/items/{name}", "/v1/items")]
    [InlineData("/v1/items/{name}", "/v1/items/a/b")]
    [InlineData("/v1/items/{name}", "/v1/items/")]
    [InlineData("/v1/items/{name}", "/V1/items/a")]
    [InlineData("/v1/items/{name}", "/v1/items/..")]
    [InlineData("/v1/items/{name}", "/v1/items/%2E")]
    [InlineData("/v1/files/{path=**}", "/v1/files/a//b")]
    [InlineData("/v1/files/{path=**}", "/v1/files/a/../b")]
    [InlineData("/v1/{name=shelves/*}", "/v1/racks/1")]
    [InlineData("/v1/{name}:cancel", "/v1/op")]
    [InlineData("/v1/{name}:cancel", "/v1/:cancel")]
    [InlineData("/v1/{name}", "/v1/op:cancel:x/y")]
    public void Match_RefusesOtherPaths(string template, string path) =>
        Assert.False(PathTemplateParser.Parse(template).TryMatch(path, out _));

    [Fact]
    public void Literals_ArePercentDecodedBeforeComparing() =>
        Assert.True(PathTemplateParser.Parse("/v1/items/{name}").TryMatch("/v1/%69tems/x", out _));

    [Fact]
    public void Parse_DescribesVariablesAndVerb()
    {
        var template = PathTemplateParser.Parse("/v1/{parent=projects/*}/items/{item.id}:batchGet");
        Assert.Equal("batchGet", template.Verb);
        Assert.Equal("/v1/projects/*/items/*:batchGet", template.Shape);
        Assert.Equal(
            [new TemplateVariable("parent", 1, 3) { IsSingleSegment = false }, new TemplateVariable("item.id", 4, 5) { IsSingleSegment = true }],
            template.Variables);
    }

    [Theory]
    [InlineData("v1/items", "starts with '/'")]
    [InlineData("/v1//items", "empty path segment")]
    [InlineData("/v1/**/items", "'**' must be the last segment")]
    [InlineData("/v1/{name=**}/items", "'**' must be the last segment")]
    [InlineData("/v1/{name", "unterminated variable")]
    [InlineData("/v1/{a={b}}", "nested '{'")]
    [InlineData("/v1/{1name}", "invalid field path '1name'")]
    [InlineData("/v1/{a.}", "invalid field path 'a.'")]
    [InlineData("/v1/{a}/{a}", "variable 'a' appears twice")]
    [InlineData("/v1/items:", "invalid verb ':'")]
    [InlineData("/v1/it ems", "invalid literal segment 'it ems'")]
    [InlineData("/v1/a%2Fb", "invalid literal segment 'a%2Fb'")]
    public void Parse_RejectsWhatTheGrammarDoesNot(string template, string message)
    {
        var ex = Assert.Throws<FormatException>(() => PathTemplateParser.Parse(template));
        Assert.Contains(message, ex.Message);
    }

    [Theory]
    [InlineData("a%20b%2Fc", false, "a b/c")]
    [InlineData("a%20b%2Fc", true, "a b%2Fc")]
    [InlineData("%3A%40%2B%2c", true, "%3A%40%2B%2c")]
    [InlineData("%C3%A9", true, "é")]
    public void Decode_FollowsTheSingleAndMultiSegmentRules(string raw, bool keepReserved, string expected)
    {
        Assert.True(PathDecoding.TryDecode(raw, keepReserved, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("%")]
    [InlineData("%4")]
    [InlineData("%zz")]
    [InlineData("%C3%28")]
    public void Decode_RefusesMalformedEscapesAndNonUtf8(string raw) =>
        Assert.False(PathDecoding.TryDecode(raw, keepReserved: false, out _));

    [Theory]
    [InlineData("/v1/items/{name}", "/v1/items/{name}", "/v1/items/{__p2}")]
    [InlineData("/v1/items/{name}:cancel", "/v1/items/{name}:cancel", "/v1/items/{__p2}:cancel")]
    [InlineData("/v1/items:batchGet", "/v1/items:batchGet", "/v1/items:batchGet")]
    [InlineData("/v1/{name=shelves/*}/books", "/v1/shelves/{name}/books", "/v1/shelves/{__p2}/books")]
    [InlineData("/v1/{name=shelves/*/books/*}", "/v1/shelves/{__p2}/books/{__p4}", "/v1/shelves/{__p2}/books/{__p4}")]
    [InlineData("/v1/{shelf.id}/books/{book_id}", "/v1/{shelf.id}/books/{book_id}", "/v1/{__p1}/books/{__p3}")]
    [InlineData("/v1/files/{path=**}", "/v1/files/{**path}", "/v1/files/{**__p2}")]
    [InlineData("/v1/files/{path=**}:restore", "/v1/files/{**__rest}", "/v1/files/{**__rest}")]
    public void RoutePattern_IsExactWhereRoutingCanExpressIt_WithTheTemplatesVariableNames(string template, string pattern, string key)
    {
        var parsed = PathTemplateParser.Parse(template);
        Assert.Equal(pattern, RoutePatternText.For(parsed));
        Assert.Equal(key, RoutePatternText.Key(parsed));
    }
}
