using System.Text;
using Microsoft.AspNetCore.Routing.Patterns;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// The ASP.NET Core route pattern under which a path template is mapped. It lets endpoint routing
/// pick candidates (and answer 405 with <c>Allow</c> for a known path with another HTTP method);
/// <see cref="PathTemplate.TryMatch"/> then decides on the raw path. Where routing cannot express a
/// template (a verb after <c>**</c>, unusual literals) the pattern is a wider catch-all under the
/// template's literal prefix, and the template matcher narrows it.
/// </summary>
internal static class RoutePatternText
{
    public static string For(PathTemplate template)
    {
        var exact = Exact(template);
        if (exact is not null && TryParse(exact))
        {
            return exact;
        }
        var prefix = new StringBuilder();
        foreach (var segment in template.Segments.TakeWhile(s => s.Kind == TemplateSegmentKind.Literal))
        {
            prefix.Append('/').Append(Escape(segment.Literal));
        }
        return prefix.Append("/{**__rest}").ToString();
    }

    private static string? Exact(PathTemplate template)
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
                    sb.Append("{__p").Append(i).Append('}');
                    break;
                default:
                    if (template.Verb is not null)
                    {
                        return null; // a catch-all cannot be followed by literal text
                    }
                    sb.Append("{**__p").Append(i).Append('}');
                    break;
            }
            if (last && template.Verb is not null)
            {
                sb.Append(':').Append(Escape(template.Verb));
            }
        }
        return sb.ToString();
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
