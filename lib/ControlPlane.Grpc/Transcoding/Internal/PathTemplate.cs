namespace ControlPlane.Grpc.Transcoding.Internal;

internal enum TemplateSegmentKind
{
    /// <summary>Literal text; matches exactly (after percent-decoding the request segment).</summary>
    Literal,

    /// <summary><c>*</c>: one non-empty segment.</summary>
    Single,

    /// <summary><c>**</c>: zero or more segments; only the last segment of a template.</summary>
    Multi,
}

internal readonly record struct TemplateSegment(TemplateSegmentKind Kind, string Literal);

/// <summary>
/// A variable of a path template: the request field it sets and the segments it covers,
/// [<paramref name="Start"/>, <paramref name="End"/>); a variable ending in <c>**</c> runs to the end of the path.
/// </summary>
internal sealed record TemplateVariable(string FieldPath, int Start, int End)
{
    /// <summary>
    /// google/api/http.proto: a variable of exactly one segment (<c>{var}</c>, <c>{var=*}</c>) is fully
    /// percent-decoded; one of several segments (<c>{var=foo/*}</c>, <c>{var=**}</c>) keeps reserved characters encoded.
    /// </summary>
    public bool IsSingleSegment { get; init; }
}

/// <summary>
/// A parsed google.api.http path template (<c>/v1/{name=shelves/*}/books/{book}:verb</c>) and its
/// matcher over the raw request path. Matching is exact and case-sensitive, as the spec's literals are.
/// </summary>
internal sealed class PathTemplate
{
    public PathTemplate(string text, IReadOnlyList<TemplateSegment> segments, IReadOnlyList<TemplateVariable> variables, string? verb)
    {
        Text = text;
        Segments = segments;
        Variables = variables;
        Verb = verb;
        Shape = "/" + string.Join('/', segments.Select(s => s.Kind switch
        {
            TemplateSegmentKind.Literal => s.Literal,
            TemplateSegmentKind.Single => "*",
            _ => "**",
        })) + (verb is null ? "" : ":" + verb);
    }

    /// <summary>The template as written in the proto.</summary>
    public string Text { get; }

    public IReadOnlyList<TemplateSegment> Segments { get; }

    public IReadOnlyList<TemplateVariable> Variables { get; }

    /// <summary>The custom verb after the last segment (<c>cancel</c> in <c>/v1/{name}:cancel</c>), or null.</summary>
    public string? Verb { get; }

    /// <summary>What the template matches, without variable names: two rules with one shape collide.</summary>
    public string Shape { get; }

    public bool EndsWithMulti => Segments.Count > 0 && Segments[^1].Kind == TemplateSegmentKind.Multi;

    public int LiteralCount => Segments.Count(s => s.Kind == TemplateSegmentKind.Literal);

    /// <summary>
    /// Matches a raw (still percent-encoded) request path; on success <paramref name="values"/> holds
    /// each variable's raw text, its segments joined by '/'. Empty and dot segments never match.
    /// </summary>
    public bool TryMatch(string rawPath, out string[] values)
    {
        values = [];
        var path = rawPath.AsSpan();
        if (Verb is not null)
        {
            if (path.Length <= Verb.Length + 1 || path[^(Verb.Length + 1)] != ':' || !path[^Verb.Length..].SequenceEqual(Verb))
            {
                return false;
            }
            path = path[..^(Verb.Length + 1)];
        }
        if (path.Length < 2 || path[0] != '/')
        {
            return false;
        }
        var parts = path[1..].ToString().Split('/');
        var fixedCount = EndsWithMulti ? Segments.Count - 1 : Segments.Count;
        if (EndsWithMulti ? parts.Length < fixedCount : parts.Length != fixedCount)
        {
            return false;
        }
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (part.Length == 0 || IsDotSegment(part))
            {
                // An empty segment never matches; a dot segment was already resolved away by Kestrel's
                // path normalisation, so the route chosen for it is not the path the client sent.
                return false;
            }
            if (i < fixedCount && Segments[i].Kind == TemplateSegmentKind.Literal && PathDecoding.DecodeLenient(part) != Segments[i].Literal)
            {
                return false;
            }
        }
        values = new string[Variables.Count];
        for (var v = 0; v < Variables.Count; v++)
        {
            var variable = Variables[v];
            var end = variable.End > fixedCount ? parts.Length : variable.End;
            values[v] = string.Join('/', parts, variable.Start, end - variable.Start);
        }
        return true;
    }

    public override string ToString() => Text;

    private static bool IsDotSegment(string part) =>
        PathDecoding.DecodeLenient(part) is "." or "..";
}
