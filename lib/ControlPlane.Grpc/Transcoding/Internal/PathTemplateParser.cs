namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Parses a path template with the grammar of google/api/http.proto:
/// <code>
/// Template = "/" Segments [ Verb ] ;
/// Segments = Segment { "/" Segment } ;
/// Segment  = "*" | "**" | LITERAL | Variable ;
/// Variable = "{" FieldPath [ "=" Segments ] "}" ;
/// FieldPath = IDENT { "." IDENT } ;
/// Verb     = ":" LITERAL ;
/// </code>
/// "**" must be the last segment (except the verb); a variable must not contain other variables.
/// </summary>
internal static class PathTemplateParser
{
    /// <exception cref="FormatException">The template breaks the grammar.</exception>
    public static PathTemplate Parse(string template)
    {
        ArgumentNullException.ThrowIfNull(template);
        if (!template.StartsWith('/'))
        {
            throw new FormatException("a path template starts with '/'");
        }
        var (path, verb) = SplitVerb(template);
        var segments = new List<TemplateSegment>();
        var variables = new List<TemplateVariable>();
        foreach (var part in SplitTopLevel(path[1..]))
        {
            if (part.StartsWith('{'))
            {
                if (!part.EndsWith('}'))
                {
                    throw new FormatException($"unterminated variable '{part}'");
                }
                var inner = part[1..^1];
                var eq = inner.IndexOf('=', StringComparison.Ordinal);
                var fieldPath = eq < 0 ? inner : inner[..eq];
                ValidateFieldPath(fieldPath);
                if (variables.Any(v => v.FieldPath == fieldPath))
                {
                    throw new FormatException($"variable '{fieldPath}' appears twice");
                }
                var start = segments.Count;
                if (eq < 0)
                {
                    segments.Add(new TemplateSegment(TemplateSegmentKind.Single, ""));
                }
                else
                {
                    var sub = inner[(eq + 1)..];
                    if (sub.Contains('{', StringComparison.Ordinal))
                    {
                        throw new FormatException($"variable '{fieldPath}' contains another variable");
                    }
                    foreach (var s in sub.Split('/'))
                    {
                        segments.Add(ParseSegment(s));
                    }
                }
                var isSingle = segments.Count - start == 1 && segments[start].Kind == TemplateSegmentKind.Single;
                variables.Add(new TemplateVariable(fieldPath, start, segments.Count) { IsSingleSegment = isSingle });
            }
            else
            {
                segments.Add(ParseSegment(part));
            }
        }
        for (var i = 0; i < segments.Count - 1; i++)
        {
            if (segments[i].Kind == TemplateSegmentKind.Multi)
            {
                throw new FormatException("'**' must be the last segment of the path (before the verb)");
            }
        }
        return new PathTemplate(template, segments, variables, verb);
    }

    private static (string Path, string? Verb) SplitVerb(string template)
    {
        // The verb is the ':' suffix after the last top-level '/', outside any variable.
        var depth = 0;
        var colon = -1;
        for (var i = 0; i < template.Length; i++)
        {
            switch (template[i])
            {
                case '{': depth++; break;
                case '}': depth--; break;
                case '/' when depth == 0: colon = -1; break;
                case ':' when depth == 0 && colon < 0: colon = i; break;
            }
        }
        if (colon < 0)
        {
            return (template, null);
        }
        var verb = template[(colon + 1)..];
        if (verb.Length == 0 || !IsLiteral(verb))
        {
            throw new FormatException($"invalid verb ':{verb}'");
        }
        return (template[..colon], verb);
    }

    private static List<string> SplitTopLevel(string path)
    {
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < path.Length; i++)
        {
            switch (path[i])
            {
                case '{':
                    if (++depth > 1)
                    {
                        throw new FormatException("nested '{' in a variable");
                    }
                    break;
                case '}':
                    if (--depth < 0)
                    {
                        throw new FormatException("'}' without '{'");
                    }
                    break;
                case '/' when depth == 0:
                    parts.Add(path[start..i]);
                    start = i + 1;
                    break;
            }
        }
        if (depth != 0)
        {
            throw new FormatException("unterminated variable");
        }
        parts.Add(path[start..]);
        return parts;
    }

    private static TemplateSegment ParseSegment(string s) => s switch
    {
        "" => throw new FormatException("empty path segment"),
        "*" => new TemplateSegment(TemplateSegmentKind.Single, ""),
        "**" => new TemplateSegment(TemplateSegmentKind.Multi, ""),
        _ when IsLiteral(s) && PathDecoding.DecodeLenient(s) is var literal && !literal.Contains('/', StringComparison.Ordinal) => new TemplateSegment(TemplateSegmentKind.Literal, literal),
        _ => throw new FormatException($"invalid literal segment '{s}'"),
    };

    private static void ValidateFieldPath(string fieldPath)
    {
        foreach (var ident in fieldPath.Split('.'))
        {
            var ok = ident.Length > 0 && (char.IsAsciiLetter(ident[0]) || ident[0] == '_') && ident.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
            if (!ok)
            {
                throw new FormatException($"invalid field path '{fieldPath}'");
            }
        }
    }

    // LITERAL = *pchar (RFC 3986): unreserved, pct-encoded, sub-delims, ':' and '@'.
    private static bool IsLiteral(string s) =>
        s.All(c => char.IsAsciiLetterOrDigit(c) || "-._~%!$&'()*+,;=:@".Contains(c, StringComparison.Ordinal));
}
