/*
 * gen-preadvice.c - wcs-gen-preadvice: writes realistic, deterministic
 * pre-advice test data (CSV with header, or JSON Lines) in the layout that
 * wcs/import.h documents.
 *
 * Usage: wcs-gen-preadvice [--count N] [--seed S] [--format csv|jsonl] [--out FILE]
 *
 * DESIGN: one row is drawn at a time from a seeded xoshiro256** generator, so
 * a seed always gives the same file and memory does not grow with N. Parcels
 * go from China (Harbin hub) to Russia:
 *   - destinations are cities with their real postal-index ranges (first three
 *     digits = region), weighted toward the big destinations;
 *   - codes are UPU S10 with valid check digits and country CN, service letters
 *     as China Post uses them (R* registered, L* tracked letter post, U* under
 *     customs control, C* parcel post, E* EMS); about 60% of parcels also carry
 *     a Cainiao LP number, and some are known only by their LP number;
 *   - codes are unique for any N up to 10^8 by construction: parcel i gets
 *     serial (a + i*b) mod 10^8 with b coprime to 10, which is a bijection on
 *     0..10^8-1, and LP number (c + i*d) mod 10^12 likewise;
 *   - the item decides weight, value and HS code, so they stay consistent;
 *     dimensions follow from the weight through a packing density.
 * Every code is checked with scan_code_check() before it is written; a failure
 * is a bug in this generator and stops it.
 *
 * The postal-index sub-ranges per city are plausible, not a lookup in Russian
 * Post's PIndx database: fine for test data, not a reference.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <jansson.h>

#include "common/log.h"
#include "scanners/scanners.h"

#define S10_SERIALS 100000000ULL    /* 10^8 S10 serials */
#define LP_SERIALS 1000000000000ULL /* 10^12: "LP00" + 12 digits */

/* ---- random numbers: xoshiro256**, seeded through splitmix64 ---- */

struct rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n); the bias for n far below 2^64 is negligible here. */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
    return rng_next(r) % n;
}

/* Uniform in [lo, hi]. */
static int rng_range(struct rng *r, int lo, int hi)
{
    return lo + (int)rng_below(r, (uint64_t)(hi - lo + 1));
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Log-uniform in [lo, hi]: small values as likely per factor as large ones,
 * which is how weights and prices of one kind of item spread. */
static int rng_logrange(struct rng *r, int lo, int hi)
{
    double v = exp(log(lo) + rng_unit(r) * (log(hi) - log(lo)));
    int n = (int)lround(v);

    return n < lo ? lo : n > hi ? hi : n;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Index into a table with weights w(i), total given; linear is fast enough
 * for tables of a few dozen rows. */
#define PICK_WEIGHTED(r, table, total, idx)                                                        \
    do {                                                                                           \
        uint64_t pick_ = rng_below((r), (total));                                                  \
        for ((idx) = 0; (idx) < NELEM(table) - 1; (idx)++) {                                       \
            if (pick_ < (table)[idx].weight)                                                       \
                break;                                                                             \
            pick_ -= (table)[idx].weight;                                                          \
        }                                                                                          \
    } while (0)

/* ---- senders: shops shipping through the Harbin hub (invented) ---- */

struct sender {
    const char *name, *address, *city, *postal, *phone;
    unsigned weight;
};

static const struct sender senders[] = {
    {"Harbin Beiguo E-Commerce Co., Ltd.", "No. 18 Hongqi Street, Daoli District", "Harbin",
     "150010", "+8645186601234", 30},
    {"Heilongjiang Longjiang Trade Co., Ltd.", "No. 77 Xuefu Road, Nangang District", "Harbin",
     "150080", "+8645155507788", 20},
    {"Yiwu Jinhua Export Trading Co., Ltd.", "Building 5, Futian Market District 2", "Yiwu",
     "322000", "+8657985551200", 15},
    {"Shenzhen Mingda Electronics Co., Ltd.", "Room 1203, Huaqiang North Road 1019", "Shenzhen",
     "518031", "+8675583331450", 15},
    {"Guangzhou Baiyun Apparel Co., Ltd.", "No. 233 Jichang Road, Baiyun District", "Guangzhou",
     "510405", "+862086662390", 12},
    {"Suifenhe Border Trade Co., Ltd.", "No. 9 Tongtian Road", "Suifenhe", "157300",
     "+864533921180", 8},
};

/* ---- destinations ---- */

/* A city and the postal indices drawn for it: first three digits in
 * [p_lo, p_hi] (the region), last three in [s_lo, s_hi]. weight: relative
 * share of parcels. */
struct city {
    const char *name;
    const char *region; /* oblast, krai, republic or federal city */
    int p_lo, p_hi;
    int s_lo, s_hi;
    unsigned weight;
};

static const struct city cities[] = {
    {"Москва", "г. Москва", 101, 129, 0, 599, 220},
    /* Moscow oblast 140-144 */
    {"Балашиха", "Московская обл.", 143, 143, 900, 989, 12},
    {"Подольск", "Московская обл.", 142, 142, 100, 119, 10},
    {"Химки", "Московская обл.", 141, 141, 400, 431, 10},
    {"Мытищи", "Московская обл.", 141, 141, 0, 35, 8},
    {"Королёв", "Московская обл.", 141, 141, 60, 92, 7},
    {"Люберцы", "Московская обл.", 140, 140, 0, 14, 8},
    {"Одинцово", "Московская обл.", 143, 143, 0, 9, 6},
    {"Красногорск", "Московская обл.", 143, 143, 400, 409, 6},
    {"Коломна", "Московская обл.", 140, 140, 400, 415, 4},
    {"Электросталь", "Московская обл.", 144, 144, 0, 11, 4},
    {"Сергиев Посад", "Московская обл.", 141, 141, 300, 315, 3},
    {"Серпухов", "Московская обл.", 142, 142, 200, 214, 3},
    /* St Petersburg 190-199, Leningrad oblast 187-188 */
    {"Санкт-Петербург", "г. Санкт-Петербург", 190, 199, 0, 299, 100},
    {"Гатчина", "Ленинградская обл.", 188, 188, 300, 310, 3},
    {"Всеволожск", "Ленинградская обл.", 188, 188, 640, 645, 3},
    {"Выборг", "Ленинградская обл.", 188, 188, 800, 820, 2},
    /* Novosibirsk 630-633 */
    {"Новосибирск", "Новосибирская обл.", 630, 630, 0, 132, 45},
    {"Бердск", "Новосибирская обл.", 633, 633, 0, 11, 4},
    {"Искитим", "Новосибирская обл.", 633, 633, 200, 210, 2},
    /* Sverdlovsk 620-624 */
    {"Екатеринбург", "Свердловская обл.", 620, 620, 0, 150, 45},
    {"Нижний Тагил", "Свердловская обл.", 622, 622, 0, 52, 6},
    {"Каменск-Уральский", "Свердловская обл.", 623, 623, 400, 439, 3},
    /* Krasnodar 350-354 */
    {"Краснодар", "Краснодарский край", 350, 350, 0, 89, 30},
    {"Сочи", "Краснодарский край", 354, 354, 0, 80, 12},
    {"Новороссийск", "Краснодарский край", 353, 353, 900, 925, 6},
    {"Армавир", "Краснодарский край", 352, 352, 900, 940, 3},
    /* Primorye 690-692 */
    {"Владивосток", "Приморский край", 690, 690, 0, 109, 28},
    {"Уссурийск", "Приморский край", 692, 692, 500, 527, 8},
    {"Находка", "Приморский край", 692, 692, 900, 930, 5},
    {"Артём", "Приморский край", 692, 692, 760, 779, 3},
    /* Khabarovsk krai 680-682 */
    {"Хабаровск", "Хабаровский край", 680, 680, 0, 54, 22},
    {"Комсомольск-на-Амуре", "Хабаровский край", 681, 681, 0, 35, 7},
    /* Amur 675-676 */
    {"Благовещенск", "Амурская обл.", 675, 675, 0, 30, 14},
    {"Свободный", "Амурская обл.", 676, 676, 450, 470, 3},
    {"Белогорск", "Амурская обл.", 676, 676, 850, 870, 2},
    /* Irkutsk 664-666 */
    {"Иркутск", "Иркутская обл.", 664, 664, 0, 82, 18},
    {"Ангарск", "Иркутская обл.", 665, 665, 800, 840, 5},
    {"Братск", "Иркутская обл.", 665, 665, 700, 732, 4},
    /* Other regions of the reference table */
    {"Калининград", "Калининградская обл.", 236, 236, 0, 40, 8},
    {"Ростов-на-Дону", "Ростовская обл.", 344, 344, 0, 116, 25},
    {"Таганрог", "Ростовская обл.", 347, 347, 900, 942, 4},
    {"Ставрополь", "Ставропольский край", 355, 355, 0, 47, 8},
    {"Пятигорск", "Ставропольский край", 357, 357, 500, 538, 4},
    {"Воронеж", "Воронежская обл.", 394, 394, 0, 94, 15},
    {"Волгоград", "Волгоградская обл.", 400, 400, 1, 138, 15},
    {"Волжский", "Волгоградская обл.", 404, 404, 100, 133, 4},
    {"Казань", "Республика Татарстан", 420, 420, 0, 141, 25},
    {"Набережные Челны", "Республика Татарстан", 423, 423, 800, 834, 8},
    {"Самара", "Самарская обл.", 443, 443, 0, 125, 18},
    {"Тольятти", "Самарская обл.", 445, 445, 0, 57, 10},
    {"Уфа", "Республика Башкортостан", 450, 450, 0, 112, 18},
    {"Стерлитамак", "Республика Башкортостан", 453, 453, 100, 130, 4},
    {"Челябинск", "Челябинская обл.", 454, 454, 0, 139, 20},
    {"Магнитогорск", "Челябинская обл.", 455, 455, 0, 51, 6},
    {"Нижний Новгород", "Нижегородская обл.", 603, 603, 0, 163, 20},
    {"Дзержинск", "Нижегородская обл.", 606, 606, 0, 44, 4},
    {"Пермь", "Пермский край", 614, 614, 0, 113, 15},
    {"Березники", "Пермский край", 618, 618, 400, 426, 3},
    {"Тюмень", "Тюменская обл.", 625, 625, 0, 63, 12},
    {"Тобольск", "Тюменская обл.", 626, 626, 150, 159, 2},
    {"Томск", "Томская обл.", 634, 634, 0, 69, 8},
    {"Омск", "Омская обл.", 644, 644, 0, 123, 14},
    {"Кемерово", "Кемеровская обл.", 650, 650, 0, 71, 8},
    {"Новокузнецк", "Кемеровская обл.", 654, 654, 0, 104, 8},
    {"Барнаул", "Алтайский край", 656, 656, 0, 69, 10},
    {"Бийск", "Алтайский край", 659, 659, 300, 336, 3},
    {"Красноярск", "Красноярский край", 660, 660, 0, 135, 18},
    {"Норильск", "Красноярский край", 663, 663, 300, 341, 3},
    {"Улан-Удэ", "Республика Бурятия", 670, 670, 0, 50, 8},
    {"Чита", "Забайкальский край", 672, 672, 0, 49, 9},
    {"Якутск", "Республика Саха (Якутия)", 677, 677, 0, 29, 6},
    {"Биробиджан", "Еврейская автономная обл.", 679, 679, 0, 16, 3},
    {"Петропавловск-Камчатский", "Камчатский край", 683, 683, 0, 49, 4},
    {"Магадан", "Магаданская обл.", 685, 685, 0, 31, 2},
    {"Южно-Сахалинск", "Сахалинская обл.", 693, 693, 0, 23, 5},
    {"Симферополь", "Республика Крым", 295, 295, 0, 53, 5},
    {"Севастополь", "г. Севастополь", 299, 299, 0, 59, 4},
};

static const char *const streets[] = {
    "Ленина",     "Советская",     "Мира",         "Гагарина",     "Пушкина",     "Кирова",
    "Молодёжная", "Школьная",      "Садовая",      "Лесная",       "Октябрьская", "Центральная",
    "Набережная", "Комсомольская", "Первомайская", "Московская",   "Победы",      "Чехова",
    "Лермонтова", "Горького",      "Калинина",     "Строителей",   "Заводская",   "Спортивная",
    "Зелёная",    "Новая",         "Мичурина",     "Пролетарская", "Суворова",    "Некрасова",
    "Гоголя",     "Маяковского",   "Дзержинского", "Карла Маркса", "Фрунзе",      "Красная",
    "Полевая",    "Юбилейная",     "Российская",   "Энергетиков",
};

/* ---- recipients ---- */

/* Surnames in the masculine form; all end in -ов/-ев/-ёв/-ин, whose feminine
 * form adds "а". */
static const char *const surnames[] = {
    "Иванов",      "Смирнов",   "Кузнецов",   "Попов",     "Васильев",  "Петров",    "Соколов",
    "Михайлов",    "Новиков",   "Фёдоров",    "Морозов",   "Волков",    "Алексеев",  "Лебедев",
    "Семёнов",     "Егоров",    "Павлов",     "Козлов",    "Степанов",  "Николаев",  "Орлов",
    "Андреев",     "Макаров",   "Никитин",    "Захаров",   "Зайцев",    "Соловьёв",  "Борисов",
    "Яковлев",     "Григорьев", "Романов",    "Воробьёв",  "Сергеев",   "Кузьмин",   "Фролов",
    "Александров", "Дмитриев",  "Королёв",    "Гусев",     "Киселёв",   "Ильин",     "Максимов",
    "Поляков",     "Сорокин",   "Виноградов", "Ковалёв",   "Белов",     "Медведев",  "Антонов",
    "Тарасов",     "Жуков",     "Баранов",    "Филиппов",  "Комаров",   "Давыдов",   "Беляев",
    "Герасимов",   "Богданов",  "Осипов",     "Сидоров",   "Матвеев",   "Титов",     "Марков",
    "Миронов",     "Крылов",    "Куликов",    "Карпов",    "Власов",    "Мельников", "Денисов",
    "Гаврилов",    "Тихонов",   "Казаков",    "Афанасьев", "Данилов",   "Савельев",  "Тимофеев",
    "Фомин",       "Чернов",    "Абрамов",    "Мартынов",  "Ефимов",    "Федотов",   "Щербаков",
    "Назаров",     "Калинин",   "Исаев",      "Быков",     "Маслов",    "Родионов",  "Коновалов",
    "Лазарев",     "Воронин",   "Климов",     "Филатов",   "Пономарёв", "Голубев",   "Кудрявцев",
    "Прохоров",    "Наумов",    "Потапов",    "Журавлёв",
};

static const char *const male_names[] = {
    "Александр", "Сергей", "Дмитрий",   "Андрей",   "Алексей", "Максим",  "Евгений", "Иван",
    "Михаил",    "Артём",  "Николай",   "Владимир", "Павел",   "Роман",   "Денис",   "Игорь",
    "Олег",      "Виктор", "Антон",     "Кирилл",   "Илья",    "Никита",  "Юрий",    "Константин",
    "Вадим",     "Егор",   "Станислав", "Руслан",   "Георгий", "Василий", "Пётр",    "Фёдор",
    "Леонид",    "Борис",  "Степан",    "Ярослав",  "Матвей",  "Глеб",
};

static const char *const female_names[] = {
    "Елена",     "Ольга", "Наталья",   "Татьяна",  "Ирина",     "Анна",   "Светлана", "Мария",
    "Екатерина", "Юлия",  "Анастасия", "Марина",   "Людмила",   "Галина", "Дарья",    "Ксения",
    "Валентина", "Алёна", "Виктория",  "Надежда",  "Вера",      "Любовь", "Оксана",   "Полина",
    "Софья",     "Алина", "Евгения",   "Кристина", "Маргарита", "Яна",
};

/* Patronymics: masculine and feminine form of the same father's name. */
static const char *const patronymics[][2] = {
    {"Александрович", "Александровна"},
    {"Сергеевич", "Сергеевна"},
    {"Дмитриевич", "Дмитриевна"},
    {"Андреевич", "Андреевна"},
    {"Алексеевич", "Алексеевна"},
    {"Евгеньевич", "Евгеньевна"},
    {"Иванович", "Ивановна"},
    {"Михайлович", "Михайловна"},
    {"Николаевич", "Николаевна"},
    {"Владимирович", "Владимировна"},
    {"Павлович", "Павловна"},
    {"Викторович", "Викторовна"},
    {"Игоревич", "Игоревна"},
    {"Олегович", "Олеговна"},
    {"Юрьевич", "Юрьевна"},
    {"Анатольевич", "Анатольевна"},
    {"Васильевич", "Васильевна"},
    {"Петрович", "Петровна"},
    {"Геннадьевич", "Геннадьевна"},
    {"Валерьевич", "Валерьевна"},
    {"Борисович", "Борисовна"},
    {"Константинович", "Константиновна"},
    {"Романович", "Романовна"},
    {"Вячеславович", "Вячеславовна"},
    {"Григорьевич", "Григорьевна"},
    {"Фёдорович", "Фёдоровна"},
    {"Леонидович", "Леонидовна"},
    {"Максимович", "Максимовна"},
    {"Артёмович", "Артёмовна"},
    {"Денисович", "Денисовна"},
};

/* ---- items ---- */

/* Brand families (Latin letters, as customs wants them). */
static const char *const brands_elec[] = {"Xiaomi", "Baseus", "Ugreen", "Anker",  "Lenovo",
                                          "QCY",    "Huawei", "Honor",  "Edifier"};
static const char *const brands_phone[] = {"Baseus", "Ugreen", "Nillkin", "ESR", "Rock"};
static const char *const brands_apparel[] = {"Li-Ning", "Anta", "Xtep", "Semir", "Bosideng"};
static const char *const brands_shoes[] = {"Li-Ning", "Anta", "Xtep", "Peak", "361 Degrees"};
static const char *const brands_bags[] = {"Tigernu", "Bange", "Golf", "Samsonite Red"};
static const char *const brands_home[] = {"Xiaomi",  "Supor",  "Midea",
                                          "Joyoung", "Deerma", "Dreame"};
static const char *const brands_tools[] = {"Deli", "Jakemy", "Xiaomi Wowstick", "Dongcheng"};
static const char *const brands_cosm[] = {"Perfect Diary", "Florasis", "Zeesea", "Judydoll"};
static const char *const brands_sport[] = {"Kingsmith", "Anta", "Naturehike", "Lining"};
static const char *const brands_toys[] = {"Keeppley", "Qman", "Cada", "Pop Mart"};
static const char *const brands_auto[] = {"70mai", "DDPAI", "Baseus"};

#define BRANDS(a) a, NELEM(a)

/* An item kind: a Russian description of 2-3 defining words (never a vague
 * word), its HS code, and the ranges its weight (grams) and declared value
 * (CNY) fall in. weight: relative popularity; light items dominate, as they do
 * in cross-border e-commerce. */
struct item {
    const char *desc;
    const char *hs;
    int w_lo, w_hi; /* grams */
    int v_lo, v_hi; /* yuan */
    unsigned weight;
    const char *const *brands;
    size_t n_brands;
};

static const struct item items[] = {
    {"Чехол для смартфона", "420232", 30, 120, 10, 60, 60, BRANDS(brands_phone)},
    {"Кабель зарядный USB", "8544429009", 30, 150, 8, 50, 50, BRANDS(brands_elec)},
    {"Стекло защитное закалённое", "700719", 20, 80, 5, 30, 30, BRANDS(brands_phone)},
    {"Наушники беспроводные", "8518300000", 60, 300, 60, 500, 60, BRANDS(brands_elec)},
    {"Карта памяти", "852351", 10, 50, 25, 200, 15, BRANDS(brands_elec)},
    {"Серьги металлические", "711719", 10, 60, 5, 80, 25, NULL, 0},
    {"Носки хлопковые", "611595", 60, 300, 10, 60, 30, BRANDS(brands_apparel)},
    {"Очки солнцезащитные", "900410", 40, 150, 20, 150, 20, NULL, 0},
    {"Часы наручные кварцевые", "910211", 50, 200, 40, 400, 20, NULL, 0},
    {"Умные часы", "851762", 60, 250, 150, 1200, 20, BRANDS(brands_elec)},
    {"Набор кистей косметических", "960330", 50, 300, 15, 120, 15, BRANDS(brands_cosm)},
    {"Губная помада", "330410", 20, 80, 15, 150, 15, BRANDS(brands_cosm)},
    {"Крем для лица", "330499", 60, 250, 20, 200, 15, BRANDS(brands_cosm)},
    {"Мышь компьютерная беспроводная", "847160", 60, 200, 30, 250, 25, BRANDS(brands_elec)},
    {"Флеш-накопитель USB", "852351", 10, 60, 20, 120, 10, BRANDS(brands_elec)},
    {"Кошелёк кожаный мужской", "420231", 80, 250, 40, 300, 15, BRANDS(brands_bags)},
    {"Шапка вязаная", "650500", 60, 200, 20, 100, 15, BRANDS(brands_apparel)},
    {"Перчатки вязаные хлопковые", "611692", 40, 150, 10, 60, 10, NULL, 0},
    {"Держатель телефона автомобильный", "392690", 60, 250, 15, 90, 20, BRANDS(brands_auto)},
    {"Ножницы парикмахерские", "821300", 50, 200, 20, 200, 8, NULL, 0},
    {"Лента светодиодная", "940542", 100, 600, 20, 150, 15, NULL, 0},
    {"Зарядное устройство сетевое", "850440", 50, 300, 20, 150, 25, BRANDS(brands_elec)},
    {"Бутылка спортивная пластиковая", "392330", 80, 300, 15, 80, 8, BRANDS(brands_sport)},
    {"Футболка хлопковая мужская", "6109100000", 150, 400, 20, 120, 40, BRANDS(brands_apparel)},
    {"Пижама хлопковая женская", "610831", 250, 700, 40, 200, 20, NULL, 0},
    {"Платье летнее хлопковое", "620442", 200, 600, 50, 300, 25, NULL, 0},
    {"Джинсы мужские", "620342", 500, 1000, 60, 300, 20, BRANDS(brands_apparel)},
    {"Кроссовки беговые", "640411", 600, 1400, 100, 700, 35, BRANDS(brands_shoes)},
    {"Рюкзак городской", "420292", 400, 1200, 60, 400, 25, BRANDS(brands_bags)},
    {"Сумка женская кожаная", "420221", 400, 1200, 100, 900, 15, NULL, 0},
    {"Ремень кожаный мужской", "420330", 150, 400, 30, 200, 15, NULL, 0},
    {"Шарф вязаный шерстяной", "611710", 100, 350, 30, 200, 10, NULL, 0},
    {"Пуховик женский", "620240", 700, 1500, 300, 1200, 12, BRANDS(brands_apparel)},
    {"Аккумулятор внешний портативный", "8507600000", 200, 600, 60, 300, 25, BRANDS(brands_elec)},
    {"Клавиатура механическая", "847160", 600, 1300, 150, 800, 12, BRANDS(brands_elec)},
    {"Видеорегистратор автомобильный", "852589", 150, 500, 150, 800, 10, BRANDS(brands_auto)},
    {"Машинка для стрижки", "851020", 200, 600, 50, 400, 12, BRANDS(brands_home)},
    {"Фен для волос", "851631", 400, 1000, 60, 500, 10, BRANDS(brands_home)},
    {"Щётка зубная электрическая", "850980", 150, 400, 60, 400, 12, BRANDS(brands_home)},
    {"Мультиметр цифровой", "903031", 200, 500, 40, 300, 6, BRANDS(brands_tools)},
    {"Паяльник электрический", "851511", 150, 600, 30, 250, 6, BRANDS(brands_tools)},
    {"Набор отвёрток", "820540", 150, 900, 30, 250, 10, BRANDS(brands_tools)},
    {"Кружка керамическая", "691200", 300, 700, 15, 80, 10, NULL, 0},
    {"Термос стальной", "961700", 300, 900, 40, 250, 10, BRANDS(brands_home)},
    {"Игрушка мягкая плюшевая", "950300", 100, 900, 20, 200, 15, BRANDS(brands_toys)},
    {"Конструктор пластиковый детский", "950300", 300, 1800, 60, 600, 15, BRANDS(brands_toys)},
    {"Катушка рыболовная", "950730", 200, 450, 60, 500, 8, NULL, 0},
    {"Удочка телескопическая", "950711", 150, 600, 50, 400, 6, NULL, 0},
    {"Коврик для йоги", "950691", 800, 2000, 40, 200, 8, BRANDS(brands_sport)},
    {"Лампа настольная светодиодная", "940521", 400, 1500, 60, 300, 8, BRANDS(brands_home)},
    {"Блендер погружной", "850940", 800, 2000, 100, 500, 6, BRANDS(brands_home)},
    {"Утюг паровой", "851640", 900, 2000, 80, 400, 5, BRANDS(brands_home)},
    {"Сковорода алюминиевая", "761510", 700, 2000, 50, 300, 8, BRANDS(brands_home)},
    {"Ноутбук игровой", "847130", 1800, 3000, 4000, 9000, 3, BRANDS(brands_elec)},
    {"Пылесос беспроводной", "850811", 2000, 4500, 400, 2000, 5, BRANDS(brands_home)},
    {"Мультиварка электрическая", "851660", 3000, 6000, 200, 800, 4, BRANDS(brands_home)},
    {"Дрель аккумуляторная", "846721", 1200, 3500, 150, 700, 5, BRANDS(brands_tools)},
    {"Палатка туристическая", "630622", 1800, 6000, 150, 1000, 4, BRANDS(brands_sport)},
    {"Матрас надувной", "630640", 1500, 4000, 80, 400, 3, NULL, 0},
    {"Монитор компьютерный", "852852", 3000, 8000, 700, 2500, 3, BRANDS(brands_elec)},
    {"Принтер струйный", "844332", 3000, 8000, 500, 1800, 2, BRANDS(brands_elec)},
    {"Набор кастрюль стальных", "732393", 3000, 8000, 200, 900, 3, BRANDS(brands_home)},
    {"Гантели разборные", "950691", 5000, 30000, 150, 900, 3, BRANDS(brands_sport)},
    {"Велосипед детский", "871200", 6000, 15000, 300, 1200, 2, NULL, 0},
    {"Самокат электрический", "871160", 12000, 25000, 1500, 4000, 1, BRANDS(brands_elec)},
};

/* ---- services and codes ---- */

enum service { SVC_ECONOMY, SVC_STANDARD, SVC_EMS };

static const char *const service_names[] = {"ECONOMY", "STANDARD", "EMS"};

/* S10 service indicators by use (UPU S10 letter ranges, China Post practice):
 * EMS items E*, parcels over 2 kg C* (parcel post), registered small packets
 * R*, economy small packets L* (tracked letter post) or U* (customs-controlled
 * letter post). */
static const char *const s10_ems[] = {"EA", "EB", "EE", "EV"};
static const char *const s10_parcel[] = {"CP", "CP", "CP", "CA"};
static const char *const s10_registered[] = {"RR", "RR", "RL", "RB"};
static const char *const s10_economy[] = {"LA", "LB", "UA", "UA", "RL"};

#define PICK(r, a) ((a)[rng_below((r), NELEM(a))])

struct gen {
    struct rng rng;
    struct rng customs_rng; /* customs columns: own stream, so the others stay as they were */
    uint64_t s10_a, s10_b; /* serial(i) = (a + i*b) mod 10^8 */
    uint64_t lp_a, lp_b;   /* lp(i) = (a + i*b) mod 10^12 */
    uint64_t city_total, item_total, sender_total;
};

/* Odd and not a multiple of 5, hence coprime to 10^k. */
static uint64_t coprime_stride(struct rng *r, uint64_t modulus)
{
    uint64_t b = rng_below(r, modulus / 2) * 2 + 1;

    while (b % 5 == 0)
        b += 2;
    return b % modulus;
}

static void gen_init(struct gen *g, uint64_t seed)
{
    memset(g, 0, sizeof(*g));
    rng_seed(&g->rng, seed);
    rng_seed(&g->customs_rng, seed ^ 0x637573746f6d73ULL); /* "customs" */
    g->s10_a = rng_below(&g->rng, S10_SERIALS);
    g->s10_b = coprime_stride(&g->rng, S10_SERIALS);
    g->lp_a = rng_below(&g->rng, LP_SERIALS);
    g->lp_b = coprime_stride(&g->rng, LP_SERIALS);
    for (size_t i = 0; i < NELEM(cities); i++)
        g->city_total += cities[i].weight;
    for (size_t i = 0; i < NELEM(items); i++)
        g->item_total += items[i].weight;
    for (size_t i = 0; i < NELEM(senders); i++)
        g->sender_total += senders[i].weight;
}

/* One generated parcel; strings point into buffers or static tables. */
struct row {
    char code[SCAN_CODE_MAX + 1];
    char other[SCAN_CODE_MAX + 1]; /* "" when none */
    const char *service;
    char postal[8];
    char name[128];
    const char *city;
    char address[160];
    char phone[16];
    int weight_g, length_mm, width_mm, height_mm;
    long long declared_value; /* fen */
    char desc[160];
    const char *hs;
    const char *region;
    const struct sender *sender;
    char passport_series[5], passport_number[7], passport_issued[11]; /* "" when none */
    char inn[13];                                                     /* "" when none */
};

static void make_s10(struct gen *g, uint64_t i, const char *letters, char *out, size_t outsz)
{
    char serial[9];
    uint64_t s = (g->s10_a + (i % S10_SERIALS) * g->s10_b) % S10_SERIALS;

    snprintf(serial, sizeof(serial), "%08" PRIu64, s);
    snprintf(out, outsz, "%s%s%dCN", letters, serial, scan_s10_check_digit(serial));
}

static void make_lp(struct gen *g, uint64_t i, char *out, size_t outsz)
{
    uint64_t n = (g->lp_a + (i % LP_SERIALS) * g->lp_b) % LP_SERIALS;

    snprintf(out, outsz, "LP00%012" PRIu64, n);
}

/* Stops the program when a generated code is not what scan_code_check()
 * accepts as the intended kind: that is a bug here, never bad input. */
static void self_check(const char *code, enum scan_code_kind want)
{
    struct scan_code_info info;

    if (scan_code_check(code, strlen(code), &info) != 0 || info.kind != want)
        fatal("generated code %s fails its own check: %s (%s)", code,
              info.reason[0] != '\0' ? info.reason : "wrong kind", scan_code_kind_name(info.kind));
}

/* Dimensions from weight: parcel volume = weight / packing density, split
 * into length >= width >= height with random proportions; never below a
 * small padded envelope. */
static void make_dims(struct gen *g, struct row *row)
{
    double density = 0.12 + rng_unit(&g->rng) * 0.38; /* g/cm3 incl. packing */
    double a = 1.0 + rng_unit(&g->rng) * 1.5;
    double b = 1.0 + rng_unit(&g->rng) * (a - 1.0);
    double k, volume;

    if (row->weight_g > 5000)
        density += rng_unit(&g->rng) * 0.6; /* heavy goods are denser */
    volume = row->weight_g / density;
    k = cbrt(volume / (a * b)); /* cm */
    row->length_mm = (int)lround(a * k * 10.0);
    row->width_mm = (int)lround(b * k * 10.0);
    if (row->length_mm < 110)
        row->length_mm = 110;
    if (row->width_mm < 75)
        row->width_mm = 75;
    if (row->length_mm > 1500)
        row->length_mm = 1500;
    /* The height takes up what the (possibly enlarged) face leaves, so a
     * small item becomes a flat padded envelope rather than a fat cube. */
    row->height_mm = (int)lround(volume * 1000.0 / (row->length_mm * (double)row->width_mm));
    if (row->height_mm < 8)
        row->height_mm = 8;
    if (row->height_mm > row->width_mm)
        row->height_mm = row->width_mm;
}

/* An individual's INN: 10 random digits and the two check digits
 * (weights as the Federal Tax Service publishes them). */
static void make_inn(struct rng *r, char out[13])
{
    static const int w11[10] = {7, 2, 4, 10, 3, 5, 9, 4, 6, 8};
    static const int w12[11] = {3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8};
    int d[12], s11 = 0, s12 = 0, k;

    d[0] = rng_range(r, 0, 8);
    d[1] = rng_range(r, 1, 9);
    for (k = 2; k < 10; k++)
        d[k] = rng_range(r, 0, 9);
    for (k = 0; k < 10; k++)
        s11 += d[k] * w11[k];
    d[10] = s11 % 11 % 10;
    for (k = 0; k < 11; k++)
        s12 += d[k] * w12[k];
    d[11] = s12 % 11 % 10;
    for (k = 0; k < 12; k++)
        out[k] = (char)('0' + d[k]);
    out[12] = '\0';
}

static void make_row(struct gen *g, uint64_t i, struct row *row)
{
    struct rng *r = &g->rng;
    const struct city *city;
    const struct item *item;
    size_t ci, ii;
    enum service svc;
    int female, yuan, cents;
    uint64_t pick;

    PICK_WEIGHTED(r, cities, g->city_total, ci);
    city = &cities[ci];
    PICK_WEIGHTED(r, items, g->item_total, ii);
    item = &items[ii];

    /* Item plus packing material, within the 50 g - 30 kg the hub accepts. */
    row->weight_g = rng_logrange(r, item->w_lo, item->w_hi) + rng_range(r, 15, 60);
    if (row->weight_g < 50)
        row->weight_g = 50;
    if (row->weight_g > 30000)
        row->weight_g = 30000;
    make_dims(g, row);
    yuan = rng_logrange(r, item->v_lo, item->v_hi);
    pick = rng_below(r, 10);
    cents = pick < 5 ? 0 : pick < 8 ? 90 : 99;
    row->declared_value = (long long)yuan * 100 + cents;
    row->hs = item->hs;
    if (item->n_brands > 0 && rng_below(r, 2) == 0) {
        const char *brand = item->brands[rng_below(r, item->n_brands)];

        /* Some shippers quote the brand; this also keeps CSV quoting honest. */
        if (rng_below(r, 5) == 0)
            snprintf(row->desc, sizeof(row->desc), "%s \"%s\"", item->desc, brand);
        else
            snprintf(row->desc, sizeof(row->desc), "%s %s", item->desc, brand);
    } else {
        snprintf(row->desc, sizeof(row->desc), "%s", item->desc);
    }

    pick = rng_below(r, 100);
    svc = pick < 10 ? SVC_EMS : pick < 52 ? SVC_STANDARD : SVC_ECONOMY;
    row->service = service_names[svc];

    /* Codes: some economy parcels are known only by their Cainiao number;
     * the rest carry an S10, about two thirds of them with an LP as well. */
    row->other[0] = '\0';
    if (svc == SVC_ECONOMY && rng_below(r, 100) < 15) {
        make_lp(g, i, row->code, sizeof(row->code));
        self_check(row->code, SCAN_CODE_CAINIAO);
    } else {
        const char *letters;

        if (svc == SVC_EMS)
            letters = PICK(r, s10_ems);
        else if (row->weight_g > 2000)
            letters = PICK(r, s10_parcel);
        else if (svc == SVC_STANDARD)
            letters = PICK(r, s10_registered);
        else
            letters = PICK(r, s10_economy);
        make_s10(g, i, letters, row->code, sizeof(row->code));
        self_check(row->code, SCAN_CODE_S10);
        if (rng_below(r, 100) < 66) {
            make_lp(g, i, row->other, sizeof(row->other));
            self_check(row->other, SCAN_CODE_CAINIAO);
        }
    }

    snprintf(row->postal, sizeof(row->postal), "%03d%03d", rng_range(r, city->p_lo, city->p_hi),
             rng_range(r, city->s_lo, city->s_hi));
    row->city = city->name;

    female = rng_below(r, 100) < 62; /* most e-commerce buyers are women */
    {
        const char *surname = PICK(r, surnames);
        const char *first = female ? PICK(r, female_names) : PICK(r, male_names);
        const char *patr = patronymics[rng_below(r, NELEM(patronymics))][female];

        snprintf(row->name, sizeof(row->name), "%s%s %s %s", surname, female ? "а" : "", first,
                 patr);
    }
    snprintf(row->address, sizeof(row->address), "ул. %s, д. %d, кв. %d", PICK(r, streets),
             rng_logrange(r, 1, 150), rng_range(r, 1, 320));
    snprintf(row->phone, sizeof(row->phone), "+79%09" PRIu64, rng_below(r, 1000000000ULL));

    /* Customs data, from their own stream so that the columns above stay
     * as earlier versions of the generator wrote them for a seed. */
    r = &g->customs_rng;
    row->region = city->region;
    PICK_WEIGHTED(r, senders, g->sender_total, ci);
    row->sender = &senders[ci];
    row->passport_series[0] = row->passport_number[0] = row->passport_issued[0] = '\0';
    row->inn[0] = '\0';
    pick = rng_below(r, 100);
    if (pick < 30) {
        /* Some shops collect the passport; series = region code + year. */
        snprintf(row->passport_series, sizeof(row->passport_series), "%02d%02d",
                 rng_range(r, 1, 99), rng_range(r, 0, 24));
        snprintf(row->passport_number, sizeof(row->passport_number), "%06d",
                 rng_range(r, 0, 999999));
        snprintf(row->passport_issued, sizeof(row->passport_issued), "%04d-%02d-%02d",
                 rng_range(r, 2005, 2025), rng_range(r, 1, 12), rng_range(r, 1, 28));
    }
    if (pick >= 20 && pick < 35)
        make_inn(r, row->inn);
}

/* ---- output ---- */

static const char csv_header[] = "code,other_ids,service,country,postal_code,recipient_name,city,"
                                 "address,phone,weight_g,length_mm,width_mm,height_mm,"
                                 "declared_value,currency,item_description,hs_code,region,"
                                 "sender_name,sender_address,sender_city,sender_postal_code,"
                                 "sender_country,sender_phone,passport_series,passport_number,"
                                 "passport_issued,inn\n";

/* Writes one CSV text field followed by sep; libcsv quotes and escapes the
 * fields that need it, the rest go out bare. Returns 0 or -1. */
static int csv_field(FILE *fp, const char *s, int sep)
{
    size_t n = strlen(s);

    if (strpbrk(s, ",\"\r\n") != NULL) {
        if (csv_fwrite(fp, s, n) != 0)
            return -1;
    } else if (n > 0 && fwrite(s, 1, n, fp) != n) {
        return -1;
    }
    return putc(sep, fp) == EOF ? -1 : 0;
}

static int write_csv(FILE *fp, const struct row *w)
{
    if (csv_field(fp, w->code, ',') < 0 || csv_field(fp, w->other, ',') < 0 ||
        csv_field(fp, w->service, ',') < 0 || fputs("RU,", fp) == EOF ||
        csv_field(fp, w->postal, ',') < 0 || csv_field(fp, w->name, ',') < 0 ||
        csv_field(fp, w->city, ',') < 0 || csv_field(fp, w->address, ',') < 0 ||
        csv_field(fp, w->phone, ',') < 0)
        return -1;
    if (fprintf(fp, "%d,%d,%d,%d,%lld,CNY,", w->weight_g, w->length_mm, w->width_mm, w->height_mm,
                w->declared_value) < 0)
        return -1;
    if (csv_field(fp, w->desc, ',') < 0 || csv_field(fp, w->hs, ',') < 0 ||
        csv_field(fp, w->region, ',') < 0 || csv_field(fp, w->sender->name, ',') < 0 ||
        csv_field(fp, w->sender->address, ',') < 0 || csv_field(fp, w->sender->city, ',') < 0 ||
        csv_field(fp, w->sender->postal, ',') < 0 || fputs("CN,", fp) == EOF ||
        csv_field(fp, w->sender->phone, ',') < 0 || csv_field(fp, w->passport_series, ',') < 0 ||
        csv_field(fp, w->passport_number, ',') < 0 ||
        csv_field(fp, w->passport_issued, ',') < 0 || csv_field(fp, w->inn, '\n') < 0)
        return -1;
    return 0;
}

/*
 * JSON Lines writer. Building a fresh object per row spends most of its time
 * allocating and hashing keys, so one object with every key is built once and
 * its values are updated in place for each row; jansson still does all the
 * escaping and formatting. Rows are serialised into a buffer and written with
 * one fwrite(): json_dumpf() writes token by token, which triples the cost.
 */
struct jsonl {
    char buf[4096]; /* one serialised row; rows are well under 1 KiB */
    json_t *obj, *ids;
    json_t *code, *service, *postal, *name, *city, *address, *phone;
    json_t *weight, *length, *width, *height, *value, *desc, *hs;
    json_t *region, *s_name, *s_address, *s_city, *s_postal, *s_phone;
};

/* Adds key with value v (a new reference) to o and returns v, borrowed. */
static json_t *jsonl_add(json_t *o, const char *key, json_t *v)
{
    if (v == NULL || json_object_set_new(o, key, v) < 0)
        return NULL;
    return v;
}

static int jsonl_init(struct jsonl *j)
{
    json_t *o = json_object();

    memset(j, 0, sizeof(*j));
    if (o == NULL)
        return -1;
    j->obj = o;
    /* Insertion order is output order: the column order of import.h. */
    if ((j->code = jsonl_add(o, "code", json_string(""))) == NULL ||
        (j->ids = jsonl_add(o, "other_ids", json_array())) == NULL ||
        (j->service = jsonl_add(o, "service", json_string(""))) == NULL ||
        jsonl_add(o, "country", json_string("RU")) == NULL ||
        (j->postal = jsonl_add(o, "postal_code", json_string(""))) == NULL ||
        (j->name = jsonl_add(o, "recipient_name", json_string(""))) == NULL ||
        (j->city = jsonl_add(o, "city", json_string(""))) == NULL ||
        (j->address = jsonl_add(o, "address", json_string(""))) == NULL ||
        (j->phone = jsonl_add(o, "phone", json_string(""))) == NULL ||
        (j->weight = jsonl_add(o, "weight_g", json_integer(0))) == NULL ||
        (j->length = jsonl_add(o, "length_mm", json_integer(0))) == NULL ||
        (j->width = jsonl_add(o, "width_mm", json_integer(0))) == NULL ||
        (j->height = jsonl_add(o, "height_mm", json_integer(0))) == NULL ||
        (j->value = jsonl_add(o, "declared_value", json_integer(0))) == NULL ||
        jsonl_add(o, "currency", json_string("CNY")) == NULL ||
        (j->desc = jsonl_add(o, "item_description", json_string(""))) == NULL ||
        (j->hs = jsonl_add(o, "hs_code", json_string(""))) == NULL ||
        (j->region = jsonl_add(o, "region", json_string(""))) == NULL ||
        (j->s_name = jsonl_add(o, "sender_name", json_string(""))) == NULL ||
        (j->s_address = jsonl_add(o, "sender_address", json_string(""))) == NULL ||
        (j->s_city = jsonl_add(o, "sender_city", json_string(""))) == NULL ||
        (j->s_postal = jsonl_add(o, "sender_postal_code", json_string(""))) == NULL ||
        jsonl_add(o, "sender_country", json_string("CN")) == NULL ||
        (j->s_phone = jsonl_add(o, "sender_phone", json_string(""))) == NULL) {
        json_decref(o);
        j->obj = NULL;
        return -1;
    }
    return 0;
}

static void jsonl_free(struct jsonl *j)
{
    json_decref(j->obj);
    j->obj = NULL;
}

static int write_jsonl(FILE *fp, struct jsonl *j, const struct row *w)
{
    size_t n;

    if (json_array_clear(j->ids) < 0 ||
        (w->other[0] != '\0' && json_array_append_new(j->ids, json_string(w->other)) < 0))
        return -1;
    if (json_string_set(j->code, w->code) < 0 || json_string_set(j->service, w->service) < 0 ||
        json_string_set(j->postal, w->postal) < 0 || json_string_set(j->name, w->name) < 0 ||
        json_string_set(j->city, w->city) < 0 || json_string_set(j->address, w->address) < 0 ||
        json_string_set(j->phone, w->phone) < 0 || json_integer_set(j->weight, w->weight_g) < 0 ||
        json_integer_set(j->length, w->length_mm) < 0 ||
        json_integer_set(j->width, w->width_mm) < 0 ||
        json_integer_set(j->height, w->height_mm) < 0 ||
        json_integer_set(j->value, w->declared_value) < 0 ||
        json_string_set(j->desc, w->desc) < 0 || json_string_set(j->hs, w->hs) < 0 ||
        json_string_set(j->region, w->region) < 0 ||
        json_string_set(j->s_name, w->sender->name) < 0 ||
        json_string_set(j->s_address, w->sender->address) < 0 ||
        json_string_set(j->s_city, w->sender->city) < 0 ||
        json_string_set(j->s_postal, w->sender->postal) < 0 ||
        json_string_set(j->s_phone, w->sender->phone) < 0)
        return -1;
    /* Passport and INN only when the row has them (absent keys, not ""). */
    json_object_del(j->obj, "passport_series");
    json_object_del(j->obj, "passport_number");
    json_object_del(j->obj, "passport_issued");
    json_object_del(j->obj, "inn");
    if (w->passport_series[0] != '\0' &&
        (json_object_set_new(j->obj, "passport_series", json_string(w->passport_series)) < 0 ||
         json_object_set_new(j->obj, "passport_number", json_string(w->passport_number)) < 0 ||
         json_object_set_new(j->obj, "passport_issued", json_string(w->passport_issued)) < 0))
        return -1;
    if (w->inn[0] != '\0' && json_object_set_new(j->obj, "inn", json_string(w->inn)) < 0)
        return -1;
    n = json_dumpb(j->obj, j->buf, sizeof(j->buf) - 1, JSON_COMPACT);
    if (n == 0 || n >= sizeof(j->buf))
        return -1;
    j->buf[n++] = '\n';
    return fwrite(j->buf, 1, n, fp) == n ? 0 : -1;
}

static void usage(FILE *fp)
{
    fprintf(fp, "usage: wcs-gen-preadvice [--count N] [--seed S] [--format csv|jsonl] "
                "[--out FILE]\n"
                "  --count N      parcels to write (default 1000, at most 100000000)\n"
                "  --seed S       random seed; the same seed gives the same data (default 1)\n"
                "  --format F     csv (with header, default) or jsonl\n"
                "  --out FILE     output file (default standard output)\n");
}

/* Parses a whole decimal unsigned number; returns 0 or -1. */
static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"count", required_argument, NULL, 'n'},  {"seed", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'}, {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    uint64_t count = 1000, seed = 1;
    const char *out_path = NULL;
    int jsonl = 0, c;
    FILE *fp = stdout;
    struct gen *g;
    struct row row;
    static struct jsonl j;

    log_init("wcs-gen-preadvice", LOG_LEVEL_INFO);
    while ((c = getopt_long(argc, argv, "n:s:f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (parse_u64(optarg, &count) < 0 || count > S10_SERIALS) {
                log_error("--count %s: expected 0..%llu", optarg, S10_SERIALS);
                return 2;
            }
            break;
        case 's':
            if (parse_u64(optarg, &seed) < 0) {
                log_error("--seed %s: expected an unsigned number", optarg);
                return 2;
            }
            break;
        case 'f':
            if (strcmp(optarg, "csv") == 0) {
                jsonl = 0;
            } else if (strcmp(optarg, "jsonl") == 0) {
                jsonl = 1;
            } else {
                log_error("--format %s: expected csv or jsonl", optarg);
                return 2;
            }
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    if (out_path != NULL) {
        fp = fopen(out_path, "w");
        if (fp == NULL) {
            log_warn("%s", out_path);
            return 1;
        }
    }
    /* A large buffer: output is written in one sequential stream. */
    setvbuf(fp, NULL, _IOFBF, 1 << 20);

    g = malloc(sizeof(*g));
    if (g == NULL)
        fatal("out of memory");
    gen_init(g, seed);
    if (jsonl_init(&j) < 0)
        fatal("out of memory");

    if (!jsonl && fputs(csv_header, fp) == EOF)
        goto write_fail;
    for (uint64_t i = 0; i < count; i++) {
        make_row(g, i, &row);
        if ((jsonl ? write_jsonl(fp, &j, &row) : write_csv(fp, &row)) < 0)
            goto write_fail;
    }
    jsonl_free(&j);
    free(g);
    if (fflush(fp) != 0 || ferror(fp)) {
        log_warn("%s", out_path != NULL ? out_path : "stdout");
        if (fp != stdout)
            fclose(fp);
        return 1;
    }
    if (fp != stdout && fclose(fp) != 0) {
        log_warn("%s", out_path);
        return 1;
    }
    return 0;

write_fail:
    log_warn("%s", out_path != NULL ? out_path : "stdout");
    jsonl_free(&j);
    free(g);
    if (fp != stdout)
        fclose(fp);
    return 1;
}
