namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// The Lua scripts (embedded from Scripts/*.lua), each with its prelude prepended: the registry's
/// key layout and record shape (_registry.lua), or the policies' (_policy.lua), then the change
/// notifications (_changes.lua). Every change that spans keys is one script, so Redis runs it
/// atomically, its change notification included.
/// </summary>
internal static class RedisScripts
{
    public static readonly RedisScript Register = Registry("register", writes: true);
    public static readonly RedisScript Renew = Registry("renew", writes: true);
    public static readonly RedisScript Deregister = Registry("deregister", writes: true);
    public static readonly RedisScript AnnounceGone = Registry("announce_gone", writes: true);
    public static readonly RedisScript SetDraining = Registry("set_draining", writes: true);
    public static readonly RedisScript Get = Registry("get", writes: false);
    public static readonly RedisScript ListIndex = Registry("list_index", writes: false);
    public static readonly RedisScript ListAll = Registry("list_all", writes: false);
    public static readonly RedisScript ScanExpiry = Registry("scan_expiry", writes: false);
    public static readonly RedisScript Expire = Registry("expire", writes: true);
    public static readonly RedisScript RemoveExpired = Registry("remove_expired", writes: true);
    public static readonly RedisScript Count = Registry("count", writes: false);
    public static readonly RedisScript ExtendLeases = Registry("extend_leases", writes: true);
    public static readonly RedisScript AdvertiseLag = Registry("advertise_lag", writes: true);

    public static readonly RedisScript SetPolicy = Policy("set_policy", writes: true);
    public static readonly RedisScript DeletePolicy = Policy("delete_policy", writes: true);
    public static readonly RedisScript ListPolicies = Policy("list_policies", writes: false);

    public static readonly RedisScript ChangesSince = Changes("changes_since", writes: false);

    public static readonly RedisScript PutDataplane = new("put_dataplane", Read("put_dataplane"), writes: true);
    public static readonly RedisScript ListDataplanes = new("list_dataplanes", Read("list_dataplanes"), writes: false);
    public static readonly RedisScript TouchContact = new("touch_contact", Read("touch_contact"), writes: true);

    public static readonly RedisScript ApplyLoad = Load("apply_load", writes: true);
    public static readonly RedisScript SumLoad = Load("sum_load", writes: false);

    private static RedisScript Registry(string name, bool writes) => new(name, Read("_registry") + "\n" + Read("_changes") + "\n" + Read(name), writes);

    private static RedisScript Policy(string name, bool writes) => new(name, Read("_policy") + "\n" + Read("_changes") + "\n" + Read(name), writes);

    private static RedisScript Load(string name, bool writes) => new(name, Read("_load") + "\n" + Read(name), writes);

    private static RedisScript Changes(string name, bool writes) => new(name, "local P = ARGV[1]\n" + Read("_changes") + "\n" + Read(name), writes);

    private static string Read(string name)
    {
        var resource = $"{typeof(RedisScripts).Namespace}.Scripts.{name}.lua";
        using var stream = typeof(RedisScripts).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded script {resource} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
