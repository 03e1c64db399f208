using System.Text;
using Microsoft.AspNetCore.Routing.Patterns;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// The ASP.NET Core route pattern under which a path template is mapped. It lets endpoint routing
/// pick candidates (and answer 405 with <c>Allow</c> for a known path with another HTTP method);
/// <see cref="PathTemplate.TryMatch"/> then decides on the raw path. Where routing cannot express a
/// template (a verb after <c>**</c>, unusual literals) the pattern is a wider catch-all under the
/// template's literal prefix, and the template matcher narrows it. The pattern's parameters carry the
/// template's variable names (<c>/v1/services/{name}/instances</c>), because ASP.NET Core reports the
/// pattern as the <c>http.route</c> of its request metrics and logs: a bounded label that reads as
/// the documented route.
/// </summary>
internal static class RoutePatternText
{
    /// <summary>The pattern to map, its parameters named after the template's variables where routing allows.</summary>
    public static string For(PathTemplate template)
    {
        var key = Key(template);
        if (key.EndsWith(CatchAll, StringComparison.Ordinal))
        {
            return key;
        }
        var named = Exact(template, named: true);
        return named is not null && TryParse(named) ? named : key;
    }

    /// <summary>
    /// The pattern without variable names: what routing tells apart. Bindings with one key share an
    /// endpoint (two endpoints differing only in parameter names would both match a request).
    /// </summary>
    public static string Key(PathTemplate template)
    {
        var exact = Exact(template, named: false);
        if (exact is not null && TryParse(exact))
        {
            return exact;
        }
        var prefix = new StringBuilder();
        foreach (var segment in template.Segments.TakeWhile(s => s.Kind == TemplateSegmentKind.Literal))
        {
            prefix.Append('/').Append(Escape(segment.Literal));
        }
        return prefix.Append(CatchAll).ToString();
    }

    private const string CatchAll = "/{**__rest}";

    private static string? Exact(PathTemplate template, bool named)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < template.Segments.Count; i++)
        {
            var segment = template.Segments[i];
            var last = i == template.Segments.Count - 1;
            sb.Append('/');
            switch (segment.Kind)
            {
                case TemplateSegmentKind.Literal:
                    sb.Append(Escape(segment.Literal));
                    break;
                case TemplateSegmentKind.Single:
                    sb.Append('{').Append(ParameterName(template, i, named)).Append('}');
                    break;
                default:
                    if (template.Verb is not null)
                    {
                        return null; // a catch-all cannot be followed by literal text
                    }
                    sb.Append("{**").Append(ParameterName(template, i, named)).Append('}');
                    break;
            }
            if (last && template.Verb is not null)
            {
                sb.Append(':').Append(Escape(template.Verb));
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// The variable's field path when segment <paramref name="index"/> is the only wildcard of a
    /// variable (<c>{name}</c>, <c>{name=shelves/*}</c>, <c>{path=**}</c>); else a placeholder (a bare
    /// <c>*</c>, or one of several wildcards of a variable, which would repeat its name).
    /// </summary>
    private static string ParameterName(PathTemplate template, int index, bool named)
    {
        if (named)
        {
            foreach (var variable in template.Variables)
            {
                var end = Math.Min(variable.End, template.Segments.Count);
                if (variable.Start <= index && index < end)
                {
                    var wildcards = 0;
                    for (var j = variable.Start; j < end; j++)
                    {
                        wildcards += template.Segments[j].Kind == TemplateSegmentKind.Literal ? 0 : 1;
                    }
                    return wildcards == 1 ? variable.FieldPath : "__p" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }
        return "__p" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static bool TryParse(string pattern)
    {
        try
        {
            RoutePatternFactory.Parse(pattern);
            return true;
        }
        catch (RoutePatternException)
        {
            return false;
        }
    }

    private static string Escape(string literal) => literal.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal);
}
