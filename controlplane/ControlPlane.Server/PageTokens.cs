using System.Text;

namespace ControlPlane.Server;

/// <summary>
/// The opaque page tokens of every listing: the key of the last item of a page (listings are ordered
/// by that key), so the next page starts after it, without gaps or repeats while items come and go.
/// </summary>
internal static class PageTokens
{
    private const string Prefix = "after:";

    public static string After(string lastKey) => Convert.ToBase64String(Encoding.UTF8.GetBytes(Prefix + lastKey));

    /// <summary>The key a token names; false for anything that is not a token from a previous page.</summary>
    public static bool TryDecode(string token, out string? after)
    {
        after = null;
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(token));
            if (text.StartsWith(Prefix, StringComparison.Ordinal) && text.Length > Prefix.Length)
            {
                after = text[Prefix.Length..];
                return true;
            }
        }
        catch (FormatException)
        {
        }
        return false;
    }
}
