namespace ControlPlane.Agents.Runtime;

internal static class Urls
{
    /// <summary><paramref name="baseUrl"/>'s path, then <paramref name="pathAndQuery"/> (a base with a path keeps it: http://h/cp + readyz = http://h/cp/readyz).</summary>
    public static Uri Combine(Uri baseUrl, string pathAndQuery)
    {
        var text = baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return new Uri(text + "/" + pathAndQuery.TrimStart('/'));
    }
}
